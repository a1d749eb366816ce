/* yaml.c — libyaml's event stream folded into a flat node tree that Lua
 * walks through the FFI. Every node keeps its line, so config errors can
 * name file:line and the key path. Anchors/aliases are refused: a config
 * is small, and aliases make key paths ambiguous. */
#include <stdlib.h>
#include <string.h>
#include <yaml.h>
#include "../util/util.h"

#define MAX_DEPTH 64

static int add_node(sg_ydoc *d, int kind, int line, int plain, const char *s, size_t n) {
  if (d->nnodes == d->cap) {
    int cap = d->cap ? d->cap * 2 : 64;
    sg_ynode *nn = realloc(d->nodes, (size_t)cap * sizeof *nn);
    if (!nn) return -1;
    d->nodes = nn;
    d->cap = cap;
  }
  if (d->text_len + n + 1 > d->text_cap) {
    size_t cap = d->text_cap ? d->text_cap : 1024;
    while (cap < d->text_len + n + 1) cap *= 2;
    char *t = realloc(d->text, cap);
    if (!t) return -1;
    d->text = t;
    d->text_cap = cap;
  }
  sg_ynode *x = &d->nodes[d->nnodes];
  *x = (sg_ynode){kind, line, plain, -1, -1, (uint32_t)d->text_len, (uint32_t)n};
  if (n) memcpy(d->text + d->text_len, s, n);
  d->text_len += n;
  d->text[d->text_len++] = 0;
  return d->nnodes++;
}

/* Links node `child` under the open container at the top of the stack. */
static void link_child(sg_ydoc *d, const int *stack, int *last, int depth, int child) {
  if (depth == 0) return;
  int parent = stack[depth - 1];
  if (last[depth - 1] < 0) d->nodes[parent].first_child = child;
  else d->nodes[last[depth - 1]].next_sibling = child;
  last[depth - 1] = child;
}

sg_ydoc *sg_yaml_parse(const char *src, size_t len, char *err, size_t errlen) {
  yaml_parser_t p;
  yaml_event_t ev;
  sg_ydoc *d = calloc(1, sizeof *d);
  int stack[MAX_DEPTH], last[MAX_DEPTH], depth = 0, docs = 0, ok = 1;
  if (!d || !yaml_parser_initialize(&p)) return free(d), sg_fail(err, errlen, "out of memory"), NULL;
  yaml_parser_set_input_string(&p, (const unsigned char *)src, len);
  for (int done = 0; !done && ok;) {
    if (!yaml_parser_parse(&p, &ev)) {
      sg_fail(err, errlen, "line %zu: %s", p.problem_mark.line + 1, p.problem ? p.problem : "syntax error");
      ok = 0;
      break;
    }
    int line = (int)ev.start_mark.line + 1, id;
    switch (ev.type) {
      case YAML_STREAM_END_EVENT: done = 1; break;
      case YAML_DOCUMENT_START_EVENT:
        if (++docs > 1) ok = sg_fail(err, errlen, "line %d: only one YAML document is allowed", line) + 1;
        break;
      case YAML_ALIAS_EVENT:
        ok = sg_fail(err, errlen, "line %d: YAML aliases are not supported in configs", line) + 1;
        break;
      case YAML_SCALAR_EVENT:
        id = add_node(d, SG_Y_SCALAR, line, ev.data.scalar.plain_implicit && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE,
                      (const char *)ev.data.scalar.value, ev.data.scalar.length);
        if (id < 0) ok = 0;
        else link_child(d, stack, last, depth, id);
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (depth == MAX_DEPTH) {
          ok = sg_fail(err, errlen, "line %d: nesting deeper than %d", line, MAX_DEPTH) + 1;
          break;
        }
        id = add_node(d, ev.type == YAML_SEQUENCE_START_EVENT ? SG_Y_SEQ : SG_Y_MAP, line, 0, "", 0);
        if (id < 0) { ok = 0; break; }
        link_child(d, stack, last, depth, id);
        stack[depth] = id;
        last[depth++] = -1;
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT: depth--; break;
      default: break;
    }
    yaml_event_delete(&ev);
  }
  yaml_parser_delete(&p);
  if (!ok) {
    if (err && !err[0]) sg_fail(err, errlen, "out of memory");
    sg_yaml_free(d);
    return NULL;
  }
  return d;
}

void sg_yaml_free(sg_ydoc *d) {
  if (!d) return;
  free(d->nodes);
  free(d->text);
  free(d);
}
