"""The Django-style DATABASE_URL as a Django project reads it: dj-database-url turns it into
the DATABASES entry (sslmode=verify-full lands in OPTIONS), and Django's postgresql backend
connects with psycopg 3 and those settings. Prints QUERY's first value."""
import os
import sys

import dj_database_url
import psycopg

cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
if cfg["ENGINE"] != "django.db.backends.postgresql":
    sys.exit(f"realdb-python: not a PostgreSQL URL ({cfg['ENGINE']})")
try:
    with psycopg.connect(
        host=cfg["HOST"],
        port=cfg["PORT"],
        user=cfg["USER"],
        password=cfg["PASSWORD"],
        dbname=cfg["NAME"],
        **cfg["OPTIONS"],
    ) as conn:
        if not conn.pgconn.ssl_in_use:
            sys.exit("realdb-python: connected without TLS")
        print(conn.execute(os.environ["QUERY"]).fetchone()[0])
except psycopg.Error as e:
    sys.exit(f"realdb-python: {e}")
