// The committed list of accepted findings. Each entry names a check and an object
// (schema.object as reports print it; for functions the name without arguments accepts
// every overload) and must say why the finding is acceptable.
import { readFileSync } from "node:fs";
import { z } from "zod";
import { checks } from "./checks.ts";
import { type Finding, qualifiedName } from "./finding.ts";

const checkIds = checks.map((c) => c.id);

const allowListSchema = z.strictObject({
  accepted: z.array(
    z.strictObject({
      check: z.string().refine((id) => checkIds.includes(id), { message: "unknown check id" }),
      object: z.string().min(1),
      reason: z.string().trim().min(10, { message: "a reason of at least 10 characters is required" }),
    }),
  ),
});

export type AllowListEntry = z.infer<typeof allowListSchema>["accepted"][number];

export class AllowListError extends Error {}

export function loadAllowList(path: string): AllowListEntry[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new AllowListError(`cannot read allow-list ${path}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new AllowListError(`allow-list ${path} is not valid JSON: ${(error as Error).message}`);
  }
  const result = allowListSchema.safeParse(json);
  if (!result.success) {
    const issues = result.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
    throw new AllowListError(`allow-list ${path} is invalid: ${issues}`);
  }
  return result.data.accepted;
}

function matches(entry: AllowListEntry, finding: Finding): boolean {
  if (entry.check !== finding.check) return false;
  const name = qualifiedName(finding);
  return name === entry.object || name.startsWith(`${entry.object}(`);
}

/** Marks accepted findings and returns the entries that matched nothing (stale entries). */
export function applyAllowList(findings: Finding[], entries: AllowListEntry[]): AllowListEntry[] {
  const used = new Set<AllowListEntry>();
  for (const finding of findings) {
    const entry = entries.find((e) => matches(e, finding));
    if (entry) {
      finding.accepted = true;
      finding.reason = entry.reason;
      used.add(entry);
    }
  }
  return entries.filter((e) => !used.has(e));
}
