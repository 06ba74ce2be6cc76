// Staff callers of the calling test file (or describe block), made before its tests
// (admin-fixtures.ts itself stays free of vitest, as payments-gateway.ts does).
import { beforeAll } from "vitest";
import { createStaff, type Staff } from "./admin-fixtures.ts";
import type { Sql } from "./payments-fixtures.ts";

/** New admin, support, user and impostor callers, filled in once the beforeAll has made them. */
export function useStaffCallers(sql: Sql): Staff {
  const staff = {} as Staff;
  beforeAll(async () => {
    Object.assign(staff, await createStaff(sql, process.env.SUPABASE_JWT_SECRET!));
  });
  return staff;
}
