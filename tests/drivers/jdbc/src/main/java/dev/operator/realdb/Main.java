package dev.operator.realdb;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;

/** Connects with the Secret's JDBC_URL/JDBC_USERNAME/JDBC_PASSWORD as written; prints QUERY's first value. */
public final class Main {
  public static void main(String[] args) throws Exception {
    String url = System.getenv("JDBC_URL");
    try (Connection c = DriverManager.getConnection(url, System.getenv("JDBC_USERNAME"), System.getenv("JDBC_PASSWORD"));
         ResultSet rs = c.createStatement().executeQuery(System.getenv("QUERY"))) {
      if (!rs.next()) {
        System.err.println("realdb-jdbc: no row");
        System.exit(1);
      }
      System.out.println(rs.getString(1));
    }
  }
}
