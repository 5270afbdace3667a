<?php
// The Laravel preset's keys used the way Laravel's config/database.php and MySqlConnector use
// them (Laravel itself is not installable from the registries tests may reach): DSN
// "mysql:host=DB_HOST;port=DB_PORT;dbname=DB_DATABASE", DB_USERNAME, DB_PASSWORD and
// PDO::MYSQL_ATTR_SSL_CA => MYSQL_ATTR_SSL_CA in the PDO options. Prints QUERY's first value.
if (getenv('DB_CONNECTION') !== 'mysql') {
    fwrite(STDERR, "realdb-php: DB_CONNECTION is not mysql\n");
    exit(1);
}
$dsn = sprintf('mysql:host=%s;port=%s;dbname=%s', getenv('DB_HOST'), getenv('DB_PORT'), getenv('DB_DATABASE'));
$options = array_filter([PDO::MYSQL_ATTR_SSL_CA => getenv('MYSQL_ATTR_SSL_CA')]);
$options[PDO::ATTR_ERRMODE] = PDO::ERRMODE_EXCEPTION;
try {
    $pdo = new PDO($dsn, getenv('DB_USERNAME'), getenv('DB_PASSWORD'), $options);
    $cipher = $pdo->query("SHOW SESSION STATUS LIKE 'Ssl_cipher'")->fetch(PDO::FETCH_NUM)[1];
    if ($cipher === '') {
        fwrite(STDERR, "realdb-php: connected without TLS\n");
        exit(1);
    }
    echo $pdo->query(getenv('QUERY'))->fetchColumn(), "\n";
} catch (PDOException $e) {
    fwrite(STDERR, 'realdb-php: ' . $e->getMessage() . "\n");
    exit(1);
}
