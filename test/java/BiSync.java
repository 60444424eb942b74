// What a BI tool's sync does through pgjdbc (Metabase's does this): list
// the tables and views of the schemas named, their columns with their JDBC
// types and remarks, then read every view.  Prints one TAP-style line per
// check ("ok ..." / "not ok ...") and "rows VIEW N" per view read; exits 1
// when a check fails.
//
//   java -cp postgresql.jar BiSync.java URL USER SCHEMA [SCHEMA...]
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.ResultSetMetaData;
import java.sql.Statement;
import java.sql.Types;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

public class BiSync {
	// the standard types a BI tool maps to its own (no OTHER, JAVA_OBJECT, ...)
	static final Set<Integer> PLAIN = Set.of(Types.VARCHAR, Types.CHAR, Types.LONGVARCHAR, Types.BIGINT,
		Types.INTEGER, Types.SMALLINT, Types.NUMERIC, Types.DECIMAL, Types.DOUBLE, Types.REAL, Types.FLOAT,
		Types.BIT, Types.BOOLEAN, Types.DATE, Types.TIMESTAMP, Types.TIMESTAMP_WITH_TIMEZONE);
	static int failures = 0;

	static void check(boolean ok, String what) {
		System.out.println((ok ? "ok " : "not ok ") + what);
		if (!ok)
			failures++;
	}

	public static void main(String[] args) throws Exception {
		try (Connection conn = DriverManager.getConnection(args[0], args[1], "")) {
			DatabaseMetaData md = conn.getMetaData();
			for (int s = 2; s < args.length; s++) {
				String schema = args[s];
				List<String> views = new ArrayList<>();
				try (ResultSet rs = md.getTables(null, schema, "%", new String[] {"VIEW", "TABLE"})) {
					while (rs.next()) {
						String name = rs.getString("TABLE_NAME");
						views.add(name);
						String remarks = rs.getString("REMARKS");
						check(remarks != null && !remarks.isEmpty(), schema + "." + name + " (" + rs.getString("TABLE_TYPE")
							+ ") has remarks");
					}
				}
				check(!views.isEmpty(), "getTables finds the views of schema " + schema + " (" + views.size() + ")");
				for (String v : views) {
					int cols = 0, plain = 0, remarked = 0;
					List<String> odd = new ArrayList<>();
					try (ResultSet rs = md.getColumns(null, schema, v, "%")) {
						while (rs.next()) {
							cols++;
							int t = rs.getInt("DATA_TYPE");
							if (PLAIN.contains(t))
								plain++;
							else
								odd.add(rs.getString("COLUMN_NAME") + ":" + rs.getString("TYPE_NAME") + "=" + t);
							String r = rs.getString("REMARKS");
							if (r != null && !r.isEmpty())
								remarked++;
						}
					}
					check(cols > 0 && plain == cols, schema + "." + v + ": " + plain + " of " + cols
						+ " columns of a standard JDBC type" + (odd.isEmpty() ? "" : " " + odd));
					check(remarked == cols, schema + "." + v + ": " + remarked + " of " + cols + " columns have remarks");
					long rows = 0;
					try (Statement st = conn.createStatement();
						 ResultSet rs = st.executeQuery("SELECT * FROM \"" + schema + "\".\"" + v + "\"")) {
						ResultSetMetaData rmd = rs.getMetaData();
						boolean typesOk = true;
						for (int c = 1; c <= rmd.getColumnCount(); c++)
							if (!PLAIN.contains(rmd.getColumnType(c)))
								typesOk = false;
						while (rs.next()) {
							rows++;
							for (int c = 1; c <= rmd.getColumnCount(); c++)
								rs.getObject(c);
						}
						check(typesOk, schema + "." + v + " reads with standard result types");
						System.out.println("rows " + schema + "." + v + " " + rows);
					} catch (Exception e) {
						check(false, schema + "." + v + " reads: " + e.getMessage());
					}
				}
			}
			// What a tool listing tokacct's schema sees among its functions.
			if (System.getenv("BISYNC_FUNCTIONS") != null) {
				try (ResultSet rs = md.getFunctions(null, System.getenv("BISYNC_FUNCTIONS"), "%")) {
					while (rs.next())
						System.out.println("function " + rs.getString("FUNCTION_NAME"));
				}
			}
		}
		System.exit(failures == 0 ? 0 : 1);
	}
}
