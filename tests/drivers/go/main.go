// Command realdb-go connects with a Secret's value exactly as the operator wrote it and prints
// the first column of the first row of $QUERY.
//
//	realdb-go go-sql-driver   # $DSN through github.com/go-sql-driver/mysql
//	realdb-go pgx             # $DATABASE_URL through github.com/jackc/pgx/v5 (database/sql)
//	realdb-go pgx-dsn         # $DSN (libpq keyword/value form) through pgx (database/sql)
package main

import (
	"database/sql"
	"fmt"
	"os"

	_ "github.com/go-sql-driver/mysql"
	_ "github.com/jackc/pgx/v5/stdlib"
)

func main() {
	if len(os.Args) != 2 {
		fail("usage: realdb-go go-sql-driver|pgx|pgx-dsn")
	}
	var driver, dsn string
	switch os.Args[1] {
	case "go-sql-driver":
		driver, dsn = "mysql", os.Getenv("DSN")
	case "pgx":
		driver, dsn = "pgx", os.Getenv("DATABASE_URL")
	case "pgx-dsn":
		driver, dsn = "pgx", os.Getenv("DSN")
	default:
		fail("unknown driver " + os.Args[1])
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		fail(err.Error())
	}
	defer db.Close()
	var value string
	if err := db.QueryRow(os.Getenv("QUERY")).Scan(&value); err != nil {
		fail(err.Error())
	}
	fmt.Println(value)
}

func fail(msg string) {
	fmt.Fprintln(os.Stderr, "realdb-go:", msg)
	os.Exit(1)
}
