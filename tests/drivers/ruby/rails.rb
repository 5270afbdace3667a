# The rails preset's DATABASE_URL as Rails reads it: ActiveRecord (Debian's ruby-activerecord,
# rubygems.org is not reachable) resolves the URL into its connection config and the mysql2
# adapter connects with it. Prints QUERY's first value.
require "active_record"

ActiveRecord::Base.establish_connection(ENV.fetch("DATABASE_URL"))
conn = ActiveRecord::Base.connection
cipher = conn.select_rows("SHOW SESSION STATUS LIKE 'Ssl_cipher'").first&.last.to_s
abort "realdb-ruby: connected without TLS" if cipher.empty?
puts conn.select_value(ENV.fetch("QUERY"))
