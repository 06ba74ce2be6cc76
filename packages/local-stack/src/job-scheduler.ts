// The local stand-in for Supabase Cron's calls to the jobs function: `npm start` POSTs to
// /functions/v1/jobs/<job> with the service_role key on the schedule production uses (the
// migrations 20261206100100_job_schedules.sql and 20261207000000_whatsapp_contacts_outbox.sql).
// expire-holds is pure SQL and runs in pg_cron itself, locally as in production. The
// throwaway test stack starts no scheduler: tests run the jobs when they mean to.

export interface ScheduledJob {
  job: string;
  /** Milliseconds between runs, or "daily" at `dailyAtUtcHour`. */
  everyMs: number | "daily";
}

const DAILY_AT_UTC_HOUR = 2;

export const localJobSchedule: readonly ScheduledJob[] = [
  { job: "momo-poll", everyMs: 60_000 },
  { job: "revolut-poll", everyMs: 2 * 60_000 },
  { job: "stripe-poll", everyMs: 5 * 60_000 },
  { job: "expire-intents", everyMs: 5 * 60_000 },
  { job: "whatsapp-send", everyMs: 10_000 },
  { job: "reconcile", everyMs: "daily" },
];

/** `schedule` in words, e.g. "momo-poll every minute, ..., reconcile daily at 02:00 UTC". */
export function describeSchedule(schedule: readonly ScheduledJob[]): string {
  const every = (ms: number | "daily") =>
    ms === "daily"
      ? `daily at ${String(DAILY_AT_UTC_HOUR).padStart(2, "0")}:00 UTC`
      : ms < 60_000
      ? `every ${ms / 1000} s`
      : ms === 60_000
      ? "every minute"
      : `every ${ms / 60_000} minutes`;
  return schedule.map(({ job, everyMs }) => `${job} ${every(everyMs)}`).join(", ");
}

/** Milliseconds from `now` to the next `hour`:00 UTC. */
export function untilNextUtcHour(now: Date, hour: number): number {
  const next = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate(), hour));
  if (next.getTime() <= now.getTime()) next.setUTCDate(next.getUTCDate() + 1);
  return next.getTime() - now.getTime();
}

export interface JobScheduler {
  stop(): void;
}

/**
 * Runs each job of `schedule` against `functionsUrl`. `report` gets one line per run that
 * did something (a count above zero) or failed; idle runs stay quiet.
 */
export function startJobScheduler(options: {
  functionsUrl: string;
  serviceKey: string;
  schedule?: readonly ScheduledJob[];
  report: (line: string) => void;
}): JobScheduler {
  const timers = new Set<ReturnType<typeof setTimeout>>();
  let stopped = false;

  const run = async (job: string) => {
    try {
      const response = await fetch(`${options.functionsUrl}/jobs/${job}`, {
        method: "POST",
        headers: { authorization: `Bearer ${options.serviceKey}` },
      });
      const counts = await response.json().catch(() => null) as Record<string, unknown> | null;
      const idle = response.ok && counts !== null && Object.values(counts).every((value) => typeof value !== "number" || value === 0);
      if (!idle) options.report(`${job}: HTTP ${response.status} ${JSON.stringify(counts)}`);
    } catch (error) {
      options.report(`${job}: ${(error as Error).message}`);
    }
  };

  for (const { job, everyMs } of options.schedule ?? localJobSchedule) {
    const nextDelay = () => everyMs === "daily" ? untilNextUtcHour(new Date(), DAILY_AT_UTC_HOUR) : everyMs;
    // The next run is armed once this one has answered, so runs of one job never overlap.
    const arm = () => {
      const timer = setTimeout(async () => {
        timers.delete(timer);
        await run(job);
        if (!stopped) arm();
      }, nextDelay());
      timers.add(timer);
    };
    arm();
  }

  return {
    stop() {
      stopped = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}
