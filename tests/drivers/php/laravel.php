<?php
// The Laravel preset's keys used the way Laravel's config/database.php and its connectors use
// them (Laravel itself is not installable from the registries tests may reach):
// - DB_CONNECTION=mysql (MySqlConnector): DSN "mysql:host=DB_HOST;port=DB_PORT;dbname=DB_DATABASE",
//   PDO::MYSQL_ATTR_SSL_CA => MYSQL_ATTR_SSL_CA in the PDO options;
// - DB_CONNECTION=pgsql (PostgresConnector): DSN
//   "pgsql:host=DB_HOST;dbname='DB_DATABASE';port=DB_PORT;sslmode=DB_SSLMODE" (pdo_pgsql, libpq).
// DB_USERNAME and DB_PASSWORD as the credentials. Prints QUERY's first value.
$connection = getenv('DB_CONNECTION');
$options = [PDO::ATTR_ERRMODE => PDO::ERRMODE_EXCEPTION];
if ($connection === 'mysql') {
    $dsn = sprintf('mysql:host=%s;port=%s;dbname=%s', getenv('DB_HOST'), getenv('DB_PORT'), getenv('DB_DATABASE'));
    $ca = getenv('MYSQL_ATTR_SSL_CA');
    if ($ca !== false && $ca !== '') {
        $options[PDO::MYSQL_ATTR_SSL_CA] = $ca;
    }
    $tls = "SHOW SESSION STATUS LIKE 'Ssl_cipher'";
} elseif ($connection === 'pgsql') {
    $dsn = sprintf("pgsql:host=%s;dbname='%s';port=%s;sslmode=%s", getenv('DB_HOST'), getenv('DB_DATABASE'), getenv('DB_PORT'), getenv('DB_SSLMODE'));
    $tls = 'SELECT pid, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()';
} else {
    fwrite(STDERR, "realdb-php: DB_CONNECTION is neither mysql nor pgsql\n");
    exit(1);
}
try {
    $pdo = new PDO($dsn, getenv('DB_USERNAME'), getenv('DB_PASSWORD'), $options);
    $cipher = $pdo->query($tls)->fetch(PDO::FETCH_NUM)[1] ?? '';
    if ($cipher === '' || $cipher === null) {
        fwrite(STDERR, "realdb-php: connected without TLS\n");
        exit(1);
    }
    echo $pdo->query(getenv('QUERY'))->fetchColumn(), "\n";
} catch (PDOException $e) {
    fwrite(STDERR, 'realdb-php: ' . $e->getMessage() . "\n");
    exit(1);
}
