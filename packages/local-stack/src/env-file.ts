import { readFileSync } from "node:fs";

/** KEY=VALUE lines of a dotenv file (comments and blanks skipped, surrounding quotes removed). */
export function readEnvFile(path: string): Record<string, string> {
  const entries: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split("\n")) {
    const match = line.match(/^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (match) entries[match[1]] = match[2].replace(/^(['"])(.*)\1$/, "$2");
  }
  return entries;
}
