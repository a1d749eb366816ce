/* admin.c — topic creation through the Admin API, in one place so its
 * fallback lives in one place too: a broker without a usable Admin API
 * (librdkafka's mock answers "waiting for controller" or
 * _UNSUPPORTED_FEATURE) gets 2 back, and the caller relies on
 * auto-creation instead. "Already exists" is success; options never alter
 * an existing topic. */
#include <stdlib.h>
#include <string.h>
#include <librdkafka/rdkafka.h>
#include "../util/util.h"
#include "kafka.h"

/* Whether the topic is in the cluster metadata (without creating it), and
 * whether the cluster names a controller that is one of its brokers. The
 * dev broker (librdkafka's mock) names controller 0 while its brokers are
 * 1..N, so an Admin request would wait for the whole admin_timeout for a
 * controller that never comes: seeing that here costs nothing. A real
 * cluster always names one of its brokers; -1 (an election under way) is
 * not taken as "no Admin API": CreateTopics then waits as it should. */
static int topic_exists(rd_kafka_t *rk, const char *topic, int timeout_ms, int *no_controller, char *err,
                        size_t errlen) {
  const struct rd_kafka_metadata *md = NULL;
  rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 1 /* all topics: no auto-create */, NULL, &md, timeout_ms);
  if (e) return sg_fail(err, errlen, "metadata: %s", rd_kafka_err2str(e));
  int found = 0;
  for (int i = 0; i < md->topic_cnt && !found; i++)
    found = strcmp(md->topics[i].topic, topic) == 0 && !md->topics[i].err;
  int32_t ctrl = rd_kafka_controllerid(rk, 0);
  int known = 0;
  for (int i = 0; i < md->broker_cnt && !known; i++) known = md->brokers[i].id == ctrl;
  *no_controller = ctrl >= 0 && !known ? (int)ctrl + 1 : 0;
  rd_kafka_metadata_destroy(md);
  return found;
}

int sg_kafka_topic_error_is_permanent(int code) {
  switch ((rd_kafka_resp_err_t)code) {
  case RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR:
  case RD_KAFKA_RESP_ERR_INVALID_PARTITIONS:
  case RD_KAFKA_RESP_ERR_INVALID_CONFIG:
  case RD_KAFKA_RESP_ERR_INVALID_REPLICA_ASSIGNMENT:
  case RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION:
  case RD_KAFKA_RESP_ERR_POLICY_VIOLATION:
  case RD_KAFKA_RESP_ERR_INVALID_REQUEST:
  case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
  case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED:
    return 1;
  default:
    return 0;
  }
}

static int create(rd_kafka_t *rk, const char *topic, int partitions, int replication, const char **cfg_names,
                  const char **cfg_values, int ncfg, int timeout_ms, char *err, size_t errlen) {
  char errstr[256];
  rd_kafka_NewTopic_t *nt = rd_kafka_NewTopic_new(topic, partitions, replication, errstr, sizeof errstr);
  if (!nt) return sg_fail(err, errlen, "topic %s: %s", topic, errstr);
  for (int i = 0; i < ncfg; i++) rd_kafka_NewTopic_set_config(nt, cfg_names[i], cfg_values[i]);
  rd_kafka_AdminOptions_t *opts = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, timeout_ms, NULL, 0);
  rd_kafka_AdminOptions_set_operation_timeout(opts, timeout_ms, NULL, 0);
  rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
  rd_kafka_CreateTopics(rk, &nt, 1, opts, q);
  rd_kafka_event_t *ev = rd_kafka_queue_poll(q, timeout_ms + 2000);
  int rc;
  if (!ev) {
    rc = 2;
    sg_fail(err, errlen, "CreateTopics: no answer");
  } else if (rd_kafka_event_error(ev)) {
    rd_kafka_resp_err_t e = rd_kafka_event_error(ev);
    rc = (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE ||
          e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION) ? 2
         : sg_kafka_topic_error_is_permanent(e)    ? -2
                                                   : -1;
    sg_fail(err, errlen, "CreateTopics: %s", rd_kafka_event_error_string(ev));
  } else {
    size_t n;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t e = n ? rd_kafka_topic_result_error(res[0]) : RD_KAFKA_RESP_ERR_NO_ERROR;
    if (!e) rc = 1;
    else if (e == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) rc = 0;
    else if (e == RD_KAFKA_RESP_ERR__TIMED_OUT || e == RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT ||
             e == RD_KAFKA_RESP_ERR__UNSUPPORTED_FEATURE || e == RD_KAFKA_RESP_ERR_UNSUPPORTED_VERSION ||
             e == RD_KAFKA_RESP_ERR_NOT_CONTROLLER)
      rc = 2;
    else rc = sg_kafka_topic_error_is_permanent(e) ? -2 : -1;
    if (rc < 0 || rc == 2) sg_fail(err, errlen, "create topic %s: %s", topic, rd_kafka_err2str(e));
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_queue_destroy(q);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  return rc;
}

int sg_kafka_ensure_topic(const char **keys, const char **vals, int n, const char *topic, int partitions,
                          int replication, const char **cfg_names, const char **cfg_values, int ncfg,
                          int timeout_ms, char *err, size_t errlen) {
  rd_kafka_conf_t *conf = sg_kafka_conf(keys, vals, n, err, errlen);
  if (!conf) return -1;
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, errlen);
  if (!rk) {
    rd_kafka_conf_destroy(conf);
    return -1;
  }
  /* Metadata may take a while on a slow link; admin_timeout bounds only
   * the wait for CreateTopics. */
  int no_controller = 0;
  int rc = topic_exists(rk, topic, timeout_ms > 10000 ? timeout_ms : 10000, &no_controller, err, errlen);
  if (rc == 1) {
    rc = 0; /* exists: nothing to do */
  } else if (rc == 0 && no_controller) {
    rc = 2;
    sg_fail(err, errlen, "the cluster's controller (id %d) is none of its brokers", no_controller - 1);
  } else if (rc == 0) {
    rc = create(rk, topic, partitions, replication, cfg_names, cfg_values, ncfg, timeout_ms, err, errlen);
  }
  rd_kafka_destroy(rk);
  return rc;
}
