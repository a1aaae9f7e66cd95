/**
 * How a worker process ends, for supervisors (`LocalCluster`) to tell a crash from a stop:
 * 0 when told to stop (by the scheduler, or SIGINT/SIGTERM), 1 when it crashed (Deno's code for
 * an uncaught error), 2 on bad arguments, 3 when the scheduler refused it, 4 when its supervisor
 * terminated it for memory, 5 when it asked its supervisor to replace it (a stray task thread).
 *
 * @module
 */

/** The scheduler refused this worker (a name in use, another protocol version...). */
export const REFUSED_EXIT_CODE = 3;

/** The worker's supervisor terminated it: its process memory passed 95 % of its limit. */
export const MEMORY_EXIT_CODE = 4;

/**
 * The signal a supervisor sends a worker whose memory passed the terminate threshold: the worker
 * tells the scheduler why it goes, then exits with {@link MEMORY_EXIT_CODE}.
 */
export const MEMORY_TERMINATE_SIGNAL: Deno.Signal = "SIGUSR2";

/**
 * A supervised worker ended itself to be replaced: a task thread it terminated keeps a core busy
 * (threads/stray_threads.ts) and only a new process frees it.
 */
export const STRAY_THREAD_EXIT_CODE = 5;

/**
 * Set (to "1") in the environment of the worker processes a supervisor starts again when they
 * end (`LocalCluster`, the CLI nanny): such a worker may end itself to be replaced.
 */
export const SUPERVISED_ENV = "DASK_DENO_SUPERVISED";

/**
 * Set (to "1") by the CLI nanny in its workers' environment: the worker's standard input is a
 * pipe from the nanny, which never writes to it; when it closes (the nanny is gone, even
 * SIGKILLed) the worker stops, so no worker outlives its nanny.
 */
export const STOP_WITH_STDIN_ENV = "DASK_DENO_STOP_WITH_STDIN";
