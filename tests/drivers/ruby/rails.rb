# The rails preset's DATABASE_URL as Rails reads it: ActiveRecord (Debian's ruby-activerecord,
# rubygems.org is not reachable) resolves the URL into its connection config and the mysql2
# adapter (mysql2://) or the postgresql adapter with the pg gem (postgresql://) connects with
# it. Prints QUERY's first value.
require "active_record"

ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
conn = ActiveRecord::Base.connection
cipher = if ENV.fetch("DATABASE_URL").start_with?("postgres")
  conn.select_value("SELECT cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()").to_s
else
  conn.select_rows("SHOW SESSION STATUS LIKE 'Ssl_cipher'").first&.last.to_s
end
abort "realdb-ruby: connected without TLS" if cipher.empty?
puts conn.select_value(ENV.fetch("QUERY"))
