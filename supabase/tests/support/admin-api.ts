// What every admin API test file starts with: its pool on the test database, fresh staff
// (admin, support, user, impostor) and a caller of the admin function, in-process or through
// the functions gateway.
import { useTestSql } from "./test-sql.ts";
import { type AdminAnswer, type AdminCall, adminCaller, adminRequest, answerOf, createStaff } from "./admin-fixtures.ts";

type Caller = (method: string, path: string, call?: AdminCall) => Promise<AdminAnswer>;

async function useStaff(call: Caller) {
  const sql = useTestSql();
  const staff = await createStaff(sql, process.env.SUPABASE_JWT_SECRET!);
  return { sql, staff, call };
}

/** The calling test file's pool (ended after its tests), staff and caller of `handler`. */
export function useAdminApi(handler: Parameters<typeof adminCaller>[0]) {
  return useStaff(adminCaller(handler));
}

/**
 * The same, calling the admin function behind the functions gateway (MFUKO_TEST_FUNCTIONS_URL),
 * which verifies the JWT first (verify_jwt = true), as a deployed project does.
 */
export function useAdminGateway() {
  const functionsUrl = process.env.MFUKO_TEST_FUNCTIONS_URL;
  if (!functionsUrl) throw new Error("MFUKO_TEST_FUNCTIONS_URL is not set: run through `npm test` or export it");
  return useStaff(async (method, path, call = {}) => answerOf(await fetch(adminRequest(functionsUrl, method, `/admin${path}`, call))));
}
