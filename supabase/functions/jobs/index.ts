// Supabase Edge Runtime entry point; the local gateway imports handler.ts directly.
import handler from "./handler.ts";

Deno.serve(handler.fetch);
