/* yaml_fuzz.c — libFuzzer target for the YAML loader's C half
 * (core/config/yaml.c): any input must either parse into a well-formed
 * node tree or fail with a message; never crash, leak, read out of bounds
 * or build a tree whose links point outside it. Built by `make fuzz` with
 * clang's -fsanitize=fuzzer,address,undefined. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "../core/include/sinkgate_ffi.h"

static void require(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "yaml_fuzz: broken tree: %s\n", what);
    abort();
  }
}

/* Every node is reached once from the root, links stay in range, maps have
 * an even number of children whose keys come first, and scalar text lies
 * inside the text buffer, NUL-terminated. */
static int walk(const sg_ydoc *d, int i, unsigned char *seen, int depth) {
  require(i >= 0 && i < d->nnodes, "index out of range");
  require(!seen[i], "node reached twice");
  require(depth <= 64, "deeper than the parser allows");
  seen[i] = 1;
  const sg_ynode *n = &d->nodes[i];
  require(n->line >= 1, "line below 1");
  if (n->kind == SG_Y_SCALAR) {
    require((size_t)n->off + n->len < d->text_len, "scalar text out of range");
    require(d->text[n->off + n->len] == 0, "scalar not NUL-terminated");
    require(n->first_child == -1, "scalar with children");
    return 1;
  }
  require(n->kind == SG_Y_SEQ || n->kind == SG_Y_MAP, "unknown node kind");
  int count = 0, total = 1;
  for (int c = n->first_child; c >= 0; c = d->nodes[c].next_sibling) {
    require(c < d->nnodes, "child out of range");
    total += walk(d, c, seen, depth + 1);
    count++;
  }
  if (n->kind == SG_Y_MAP) require(count % 2 == 0, "map with an odd number of children");
  return total;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char err[256];
  err[0] = 0;
  sg_ydoc *d = sg_yaml_parse((const char *)data, size, err, sizeof err);
  if (!d) {
    require(err[0] != 0, "failure without a message");
    require(memchr(err, 0, sizeof err) != NULL, "message not terminated");
    return 0;
  }
  if (d->nnodes > 0) {
    unsigned char *seen = calloc((size_t)d->nnodes, 1);
    require(seen != NULL, "out of memory");
    int reached = walk(d, 0, seen, 0);
    require(reached == d->nnodes, "unreachable nodes");
    free(seen);
  }
  sg_yaml_free(d);
  return 0;
}
