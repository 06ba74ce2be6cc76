// What every drill returns: its figures, and the losses, duplicates or mismatches it found.

export interface DrillReport {
  name: string;
  figures: Record<string, number>;
  /** Empty when the drill passed; otherwise one line per thing that was lost or wrong. */
  failures: string[];
}

export function printDrill(report: DrillReport): void {
  console.log(`\n## ${report.name}: ${report.failures.length === 0 ? "passed" : "FAILED"}`);
  for (const [name, value] of Object.entries(report.figures)) console.log(`  ${name}: ${value}`);
  for (const failure of report.failures) console.log(`  FAILURE: ${failure}`);
}
