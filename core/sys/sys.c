/* sys.c — signals and clocks. Handlers only record the signal; the Lua
 * run loop polls sg_sys_signal_take() between batches, so a transaction is
 * never cut in the middle of a C call. */
#define _POSIX_C_SOURCE 200809L
#include <signal.h>
#include <sys/resource.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "../include/sinkgate_ffi.h"
#include <librdkafka/rdkafka.h>

static volatile sig_atomic_t pending_sig;
static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t second_exits = 1;

/* The first SIGINT/SIGTERM asks for an orderly stop (the run loop commits or
 * aborts what is open within a bounded time); a second one means the user
 * will not wait: exit at once, from the handler (only async-signal-safe
 * calls). Nothing committed is lost; what was open is aborted by Kafka. */
static void on_signal(int sig) {
  pending_sig = sig;
  if (sig != SIGINT && sig != SIGTERM) return;
  if (stop_requested && second_exits) {
    static const char msg[] = "sinkgate: second signal, exiting now\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(128 + sig);
  }
  stop_requested = 1;
}

void sg_sys_second_signal_exits(int on) { second_exits = on ? 1 : 0; }

void sg_sys_signals_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGUSR1, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
}

/* SIGHUP asks `run` for a config reload: a flag of its own, so that it
 * is neither lost to nor taken for SIGUSR1; installed by `run` only (any
 * other command keeps the default: SIGHUP ends it). */
static volatile sig_atomic_t reload_requested;
static void on_hup(int sig) {
  (void)sig;
  reload_requested = 1;
}

void sg_sys_reload_signal_install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_hup;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGHUP, &sa, NULL);
}

int sg_sys_reload_take(void) {
  int r = reload_requested;
  reload_requested = 0;
  return r;
}

int sg_sys_isatty(int fd) { return isatty(fd); }

int sg_sys_signal_take(void) {
  int s = pending_sig;
  pending_sig = 0;
  return s;
}

int sg_sys_signal_pending(void) { return stop_requested ? 1 : 0; }

void sg_sys_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && !stop_requested) {
  }
}

int64_t sg_sys_now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sg_sys_mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void sg_sys_rusage(int64_t *cpu_ms, int64_t *maxrss_kb) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  *cpu_ms = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
            (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
  *maxrss_kb = ru.ru_maxrss;
}

const char *sg_core_version(void) { return SG_VERSION; }
const char *sg_core_rdkafka_version(void) { return rd_kafka_version_str(); }
