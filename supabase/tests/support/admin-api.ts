// What every in-process admin API test file starts with: its pool on the test database, fresh
// staff (admin, support, user, impostor) and a caller of the admin function under test.
import { useTestSql } from "./test-sql.ts";
import { adminCaller, createStaff } from "./admin-fixtures.ts";

/** The calling test file's pool (ended after its tests), staff and caller of `handler`. */
export async function useAdminApi(handler: Parameters<typeof adminCaller>[0]) {
  const sql = useTestSql();
  const staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  return { sql, staff, call: adminCaller(handler) };
}
