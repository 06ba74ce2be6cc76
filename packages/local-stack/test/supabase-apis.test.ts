// What a supabase-js client pointed at the local stack's gateway gets: functions.invoke works;
// the Auth Admin API's user routes answer as Supabase Auth does (service_role only, phone
// stored without '+', phone_exists for a duplicate, a phone moved to another number, both of
// GoTrue's error shapes); every
// other /rest/v1 and /auth/v1 path is 501 with what to use instead.
import "../../../supabase/tests/support/functions-env.ts";
import { createClient } from "@supabase/supabase-js";
import { describe, expect, it } from "vitest";
import { newWaId } from "../../../supabase/tests/support/whatsapp-fixtures.ts";
import { TokenMinter } from "../src/tokens.ts";

const origin = process.env.SUPABASE_URL!;
const serviceKey = process.env.SUPABASE_SERVICE_ROLE_KEY!;
const minter = new TokenMinter(process.env.SUPABASE_JWT_SECRET!);

/** A browser-like client; Node 20 has no WebSocket, and realtime is not used here. */
const client = (key: string) =>
  createClient(origin, key, {
    auth: { persistSession: false, autoRefreshToken: false },
    realtime: { transport: class {} as never },
  });

const createUser = (body: unknown, headers: Record<string, string> = {}) =>
  fetch(`${origin}/auth/v1/admin/users`, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

describe("supabase-js against the local gateway", () => {
  it("functions.invoke reaches a function", async () => {
    const { data, error } = await client(await minter.apiKey("anon")).functions.invoke("health/live", { method: "GET" });
    expect(error).toBeNull();
    expect(data).toMatchObject({ status: "live" });
  });

  it("rpc and a password sign-in get 501 naming what to use instead", async () => {
    const supabase = client(await minter.apiKey("anon"));
    const rpc = await supabase.rpc("wallet_balance", { p_account: crypto.randomUUID() });
    expect(rpc.status).toBe(501);
    expect(rpc.error?.message).toContain("use a hosted Supabase project or `supabase start`");
    const signIn = await supabase.auth.signInWithPassword({ email: "a@mfuko.test", password: "password123" });
    expect(signIn.error?.status).toBe(501);
    for (const path of ["/rest/v1/", "/rest/v1/wallet_accounts?select=*", "/auth/v1/user", "/auth/v1/admin/generate_link"]) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(501);
      expect((await response.json()).message).toMatch(/^mfuko's local stack serves \/functions\/v1 and the Auth Admin API/);
    }
  });

  it("auth.admin.createUser makes a confirmed phone user as Supabase Auth stores it; the same phone again is phone_exists", async () => {
    const waId = newWaId();
    const admin = client(serviceKey).auth.admin;
    const { data, error } = await admin.createUser({ phone: `+${waId}`, phone_confirm: true });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({
      phone: waId,
      aud: "authenticated",
      role: "authenticated",
      phone_confirmed_at: expect.any(String),
      app_metadata: { provider: "phone", providers: ["phone"] },
    });
    const again = await admin.createUser({ phone: `+${waId}`, phone_confirm: true });
    expect(again.error).toMatchObject({ status: 422, code: "phone_exists" });
    expect((await admin.getUserById(data.user!.id)).data.user?.id).toBe(data.user!.id);
    expect((await admin.getUserById(crypto.randomUUID())).error).toMatchObject({ status: 404, code: "user_not_found" });
  });

  it("auth.admin.updateUserById moves a user's confirmed phone; a phone another user holds is phone_exists", async () => {
    const admin = client(serviceKey).auth.admin;
    const [{ data: first }, { data: second }] = [
      await admin.createUser({ phone: `+${newWaId()}`, phone_confirm: true }),
      await admin.createUser({ phone: `+${newWaId()}`, phone_confirm: true }),
    ];
    const moved = newWaId();
    const { data, error } = await admin.updateUserById(first.user!.id, { phone: `+${moved}`, phone_confirm: true });
    expect(error).toBeNull();
    expect(data.user).toMatchObject({ id: first.user!.id, phone: moved, phone_confirmed_at: expect.any(String) });
    const taken = await admin.updateUserById(first.user!.id, { phone: `+${second.user!.phone}`, phone_confirm: true });
    expect(taken.error).toMatchObject({ status: 422, code: "phone_exists" });
    expect((await admin.updateUserById(crypto.randomUUID(), { phone: `+${newWaId()}` })).error).toMatchObject({ status: 404 });
  });

  it("answers both of GoTrue's error shapes, and only the service role", async () => {
    const waId = newWaId();
    const service = { authorization: `Bearer ${serviceKey}` };
    expect((await createUser({ phone: waId }, service)).status).toBe(200);
    const legacy = await createUser({ phone: waId }, service);
    expect([legacy.status, await legacy.json()]).toEqual([422, {
      code: 422,
      error_code: "phone_exists",
      msg: "Phone number already registered by another user",
    }]);
    const versioned = await createUser({ phone: waId }, { ...service, "x-supabase-api-version": "2024-01-01" });
    expect(versioned.headers.get("x-supabase-api-version")).toBe("2024-01-01");
    expect(await versioned.json()).toEqual({ code: "phone_exists", message: "Phone number already registered by another user" });
    expect((await createUser({ phone: "0788123456" }, service)).status).toBe(400);

    expect((await createUser({ phone: newWaId() })).status).toBe(401);
    expect(
      (await createUser({ phone: newWaId() }, { authorization: `Bearer ${await new TokenMinter("y".repeat(40)).apiKey("service_role")}` }))
        .status,
    ).toBe(401);
    const anon = await createUser({ phone: newWaId() }, { authorization: `Bearer ${await minter.apiKey("anon")}` });
    expect([anon.status, (await anon.json()).error_code]).toEqual([403, "not_admin"]);
  });
});
