/**
 * NYC-flights-like CSV files with the 23 columns of Dask's tutorial data (`data/nycflights/*.csv`):
 * departures from JFK, LGA and EWR over a year, realistic carriers, destinations, distances and
 * delays, with the nulls the real data has (cancelled and diverted flights have no times, a few
 * tail numbers are missing). Deterministic for a given seed.
 *
 * @module
 */

const ORIGINS = ["JFK", "LGA", "EWR"];
const CARRIERS = ["AA", "B6", "DL", "EV", "MQ", "UA", "US", "WN", "9E", "AS", "F9", "HA"];
// destination, distance in miles from New York (about)
const DESTS: [string, number][] = [
  ["ATL", 760],
  ["ORD", 733],
  ["LAX", 2475],
  ["BOS", 187],
  ["MCO", 944],
  ["SFO", 2586],
  ["CLT", 544],
  ["MIA", 1089],
  ["FLL", 1069],
  ["DTW", 502],
  ["DCA", 214],
  ["DEN", 1620],
  ["RDU", 427],
  ["MSP", 1020],
  ["IAH", 1416],
  ["PHX", 2153],
  ["SEA", 2422],
  ["LAS", 2248],
  ["BUF", 301],
  ["PIT", 335],
  ["SLC", 1990],
  ["SJU", 1598],
  ["TPA", 1005],
  ["AUS", 1521],
];

/** A small deterministic random generator (xorshift32): numbers in [0, 1) for a given seed. */
export function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

const HEADER = "Year,Month,DayofMonth,DayOfWeek,DepTime,CRSDepTime,ArrTime,CRSArrTime," +
  "UniqueCarrier,FlightNum,TailNum,ActualElapsedTime,CRSElapsedTime,AirTime,ArrDelay," +
  "DepDelay,Origin,Dest,Distance,TaxiIn,TaxiOut,Cancelled,Diverted\n";

/** hhmm clock time `minutes` after midnight (wrapping past 24:00 as the data does). */
function clock(minutes: number): number {
  const m = ((Math.round(minutes) % 1440) + 1440) % 1440;
  return Math.floor(m / 60) * 100 + (m % 60);
}

/** One file of `rows` flights of `year`. */
export function flightsCsv(rows: number, seed: number, year = 1990 + (seed % 10)): string {
  const rand = rng(seed * 7919 + 17);
  const parts: string[] = [HEADER];
  for (let i = 0; i < rows; i++) {
    const month = 1 + Math.floor(rand() * 12);
    const day = 1 + Math.floor(rand() * 28);
    const dow = ((new Date(Date.UTC(year, month - 1, day)).getUTCDay() + 6) % 7) + 1;
    const [dest, distance] = DESTS[Math.floor(rand() * DESTS.length)];
    const origin = ORIGINS[Math.floor(rand() * ORIGINS.length)];
    const carrier = CARRIERS[Math.floor(rand() * CARRIERS.length)];
    const crsDep = 300 + Math.floor(rand() * 1200);
    const crsElapsed = Math.round(distance / 8 + 30 + rand() * 20);
    const cancelled = rand() < 0.02;
    const diverted = !cancelled && rand() < 0.003;
    // most flights leave about on time; a long tail leaves hours late
    const u = rand();
    const depDelay = u < 0.6 ? Math.round(rand() * 10 - 6) : Math.round(-Math.log(1 - rand()) * 40);
    const taxiOut = 8 + Math.floor(rand() * 30);
    const taxiIn = 3 + Math.floor(rand() * 12);
    const airTime = Math.round(crsElapsed - 25 + (rand() - 0.5) * 20);
    const elapsed = airTime + taxiIn + taxiOut;
    const arrDelay = depDelay + (elapsed - crsElapsed);
    const tail = rand() < 0.01 ? "" : `N${100 + Math.floor(rand() * 900)}${carrier}`;
    const none = cancelled || diverted;
    parts.push(
      [
        year,
        month,
        day,
        dow,
        cancelled ? "" : clock(Math.floor(crsDep / 100) * 60 + (crsDep % 100) + depDelay),
        crsDep,
        none ? "" : clock(Math.floor(crsDep / 100) * 60 + (crsDep % 100) + depDelay + elapsed),
        clock(Math.floor(crsDep / 100) * 60 + (crsDep % 100) + crsElapsed),
        carrier,
        1 + Math.floor(rand() * 3000),
        tail,
        none ? "" : elapsed,
        crsElapsed,
        none ? "" : airTime,
        none ? "" : arrDelay,
        cancelled ? "" : depDelay,
        origin,
        dest,
        distance,
        none ? "" : taxiIn,
        cancelled ? "" : taxiOut,
        cancelled ? 1 : 0,
        diverted ? 1 : 0,
      ].join(",") + "\n",
    );
  }
  return parts.join("");
}

/** Writes `files` CSV files of `rowsPerFile` flights into `dir` (skipped when already there). */
export async function writeFlights(
  dir: string,
  files: number,
  rowsPerFile: number,
): Promise<string[]> {
  await Deno.mkdir(dir, { recursive: true });
  const paths: string[] = [];
  for (let f = 0; f < files; f++) {
    const path = `${dir}/${1990 + f}.csv`;
    paths.push(path);
    const marker = `${path}.rows-${rowsPerFile}`;
    try {
      await Deno.stat(marker);
      continue;
    } catch {
      // not written yet (or with another size)
    }
    // a marker says what the file holds now: those of other sizes go before it is rewritten
    await removeMarkers(dir, `${1990 + f}.csv.rows-`);
    await Deno.writeTextFile(path, flightsCsv(rowsPerFile, f, 1990 + f));
    await Deno.writeTextFile(marker, "");
  }
  return paths;
}

/** Removes the files of `dir` whose names start with `prefix` (markers of a file's size). */
export async function removeMarkers(dir: string, prefix: string): Promise<void> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.isFile && entry.name.startsWith(prefix)) await Deno.remove(`${dir}/${entry.name}`);
  }
}
