/* json.c — a strict RFC 8259 parser into a flat tree of spans (no values
 * are copied), and the JSON format: one jsonb column holding the message's
 * text once it parses (jsonb cells keep JSON text; see core/encode/json.c).
 * Strings must be valid UTF-8 without raw control characters, escapes
 * well-formed with \u surrogates paired; nesting is bounded so hostile
 * input cannot exhaust the stack. */
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"
#include "decode.h"

#define MAX_DEPTH 512

typedef struct parser {
  sg_jdoc *doc;
  const uint8_t *s;
  size_t n, i;
  char *err;
  size_t errlen;
} parser;

static int fail_at(parser *p, const char *what) {
  return sg_fail(p->err, p->errlen, "invalid JSON at byte %zu: %s", p->i, what);
}

static void ws(parser *p) {
  while (p->i < p->n && (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
    p->i++;
}

static int32_t add_node(parser *p, int type) {
  sg_jdoc *d = p->doc;
  if (d->n == d->cap) {
    int32_t cap = d->cap ? d->cap * 2 : 64;
    if (cap < 0 || (size_t)cap > p->n * 2 + 64) return fail_at(p, "too many values"); /* cannot happen */
    sg_jnode *nn = realloc(d->nodes, (size_t)cap * sizeof *nn);
    if (!nn) return fail_at(p, "out of memory");
    d->nodes = nn;
    d->cap = cap;
  }
  sg_jnode *x = &d->nodes[d->n];
  x->type = type;
  x->start = (uint32_t)p->i;
  x->end = (uint32_t)p->i;
  x->first_child = x->next = -1;
  x->count = 0;
  return d->n++;
}

static int hex4(parser *p, size_t at, unsigned *out) {
  unsigned v = 0;
  if (p->n - at < 4) return -1;
  for (int k = 0; k < 4; k++) {
    int c = p->s[at + (size_t)k];
    v <<= 4;
    if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
    else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
    else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
    else return -1;
  }
  *out = v;
  return 0;
}

static int string_(parser *p) {
  p->i++; /* opening quote */
  size_t run = p->i;
  while (p->i < p->n) {
    uint8_t c = p->s[p->i];
    if (c == '"') {
      size_t off;
      if (!sg_utf8_valid(p->s + run, p->i - run, &off)) {
        p->i = run + off;
        return fail_at(p, "invalid UTF-8 in a string");
      }
      p->i++;
      return 0;
    }
    if (c < 0x20) return fail_at(p, "control character in a string");
    if (c != '\\') {
      p->i++;
      continue;
    }
    size_t off;
    if (!sg_utf8_valid(p->s + run, p->i - run, &off)) {
      p->i = run + off;
      return fail_at(p, "invalid UTF-8 in a string");
    }
    if (p->i + 1 >= p->n) return fail_at(p, "unterminated escape");
    c = p->s[p->i + 1];
    if (c == 'u') {
      unsigned u, lo;
      if (hex4(p, p->i + 2, &u) != 0) return fail_at(p, "bad \\u escape");
      p->i += 6;
      if (u >= 0xDC00 && u <= 0xDFFF) return fail_at(p, "unpaired low surrogate");
      if (u >= 0xD800 && u <= 0xDBFF) {
        if (p->n - p->i < 6 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' || hex4(p, p->i + 2, &lo) != 0 ||
            lo < 0xDC00 || lo > 0xDFFF)
          return fail_at(p, "unpaired high surrogate");
        p->i += 6;
      }
    } else if (strchr("\"\\/bfnrt", c) && c) {
      p->i += 2;
    } else {
      return fail_at(p, "bad escape");
    }
    run = p->i;
  }
  return fail_at(p, "unterminated string");
}

static int number(parser *p) {
  size_t i = p->i;
  const uint8_t *s = p->s;
#define DIGIT(k) ((k) < p->n && s[k] >= '0' && s[k] <= '9')
  if (i < p->n && s[i] == '-') i++;
  if (i < p->n && s[i] == '0') i++;
  else if (DIGIT(i)) while (DIGIT(i)) i++;
  else return p->i = i, fail_at(p, "bad number");
  if (i < p->n && s[i] == '.') {
    i++;
    if (!DIGIT(i)) return p->i = i, fail_at(p, "bad number fraction");
    while (DIGIT(i)) i++;
  }
  if (i < p->n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < p->n && (s[i] == '+' || s[i] == '-')) i++;
    if (!DIGIT(i)) return p->i = i, fail_at(p, "bad number exponent");
    while (DIGIT(i)) i++;
  }
#undef DIGIT
  p->i = i;
  return 0;
}

static int value(parser *p, int depth);

static int literal(parser *p, const char *word) {
  size_t k = strlen(word);
  if (p->n - p->i < k || memcmp(p->s + p->i, word, k) != 0) return fail_at(p, "unexpected character");
  p->i += k;
  return 0;
}

static int container(parser *p, int32_t self, int depth, uint8_t close) {
  int32_t last = -1;
  p->i++;
  ws(p);
  if (p->i < p->n && p->s[p->i] == close) {
    p->i++;
    return 0;
  }
  for (;;) {
    ws(p);
    int32_t key = p->doc->n;
    if (close == '}') {
      if (p->i >= p->n || p->s[p->i] != '"') return fail_at(p, "expected a string key");
      if (value(p, depth + 1) != 0) return -1;
      ws(p);
      if (p->i >= p->n || p->s[p->i] != ':') return fail_at(p, "expected ':'");
      p->i++;
      ws(p);
    }
    int32_t first = p->doc->n;
    if (value(p, depth + 1) != 0) return -1;
    /* link the key (objects) and the value in as children */
    if (close == '}') {
      p->doc->nodes[key].next = first;
      if (last >= 0) p->doc->nodes[last].next = key;
      else p->doc->nodes[self].first_child = key;
      p->doc->nodes[self].count += 2;
    } else {
      if (last >= 0) p->doc->nodes[last].next = first;
      else p->doc->nodes[self].first_child = first;
      p->doc->nodes[self].count++;
    }
    last = first;
    ws(p);
    if (p->i < p->n && p->s[p->i] == ',') {
      p->i++;
      continue;
    }
    if (p->i < p->n && p->s[p->i] == close) {
      p->i++;
      return 0;
    }
    return fail_at(p, close == '}' ? "expected ',' or '}'" : "expected ',' or ']'");
  }
}

static int value(parser *p, int depth) {
  if (depth > MAX_DEPTH) return fail_at(p, "nested too deeply");
  ws(p);
  if (p->i >= p->n) return fail_at(p, "unexpected end");
  uint8_t c = p->s[p->i];
  if (!strchr("{[\"tfn-0123456789", c) || c == 0) return fail_at(p, "unexpected character");
  int type = c == '{' ? SG_J_OBJ : c == '[' ? SG_J_ARR : c == '"' ? SG_J_STR : c == 't' ? SG_J_TRUE
           : c == 'f' ? SG_J_FALSE : c == 'n' ? SG_J_NULL : SG_J_NUM;
  int32_t self = add_node(p, type);
  if (self < 0) return -1;
  int rc;
  switch (type) {
    case SG_J_OBJ: rc = container(p, self, depth, '}'); break;
    case SG_J_ARR: rc = container(p, self, depth, ']'); break;
    case SG_J_STR: rc = string_(p); break;
    case SG_J_TRUE: rc = literal(p, "true"); break;
    case SG_J_FALSE: rc = literal(p, "false"); break;
    case SG_J_NULL: rc = literal(p, "null"); break;
    default: rc = number(p); break;
  }
  p->doc->nodes[self].end = (uint32_t)p->i;
  return rc;
}

int sg_json_parse(sg_jdoc *doc, const uint8_t *text, size_t len, char *err, size_t errlen) {
  if (len > UINT32_MAX / 2) return sg_fail(err, errlen, "JSON message too large (%zu bytes)", len);
  parser p = {doc, text, len, 0, err, errlen};
  doc->text = text;
  doc->len = len;
  doc->n = 0;
  if (value(&p, 0) != 0) return -1;
  ws(&p);
  if (p.i != len) return fail_at(&p, "trailing characters after the value");
  return 0;
}

void sg_jdoc_free(sg_jdoc *doc) {
  free(doc->nodes);
  memset(doc, 0, sizeof *doc);
}

int32_t sg_json_get(const sg_jdoc *doc, int32_t obj, const char *key) {
  if (obj < 0 || doc->nodes[obj].type != SG_J_OBJ) return -1;
  size_t kl = strlen(key);
  for (int32_t k = doc->nodes[obj].first_child; k >= 0; k = doc->nodes[doc->nodes[k].next].next) {
    const sg_jnode *kn = &doc->nodes[k];
    /* keys with escapes are compared unescaped only when the raw form differs */
    if (kn->end - kn->start == kl + 2 && memcmp(doc->text + kn->start + 1, key, kl) == 0)
      return kn->next;
  }
  return -1;
}

static int put_utf8(sg_buf *out, unsigned u) {
  uint8_t b[4];
  size_t n;
  if (u < 0x80) b[0] = (uint8_t)u, n = 1;
  else if (u < 0x800) b[0] = (uint8_t)(0xC0 | (u >> 6)), b[1] = (uint8_t)(0x80 | (u & 0x3F)), n = 2;
  else if (u < 0x10000)
    b[0] = (uint8_t)(0xE0 | (u >> 12)), b[1] = (uint8_t)(0x80 | ((u >> 6) & 0x3F)), b[2] = (uint8_t)(0x80 | (u & 0x3F)), n = 3;
  else
    b[0] = (uint8_t)(0xF0 | (u >> 18)), b[1] = (uint8_t)(0x80 | ((u >> 12) & 0x3F)),
    b[2] = (uint8_t)(0x80 | ((u >> 6) & 0x3F)), b[3] = (uint8_t)(0x80 | (u & 0x3F)), n = 4;
  return sg_dec_append(out, b, n);
}

/* The parser validated the string, so escapes here are well-formed. */
int sg_json_unescape(const sg_jdoc *doc, int32_t i, sg_buf *out) {
  const sg_jnode *x = &doc->nodes[i];
  const uint8_t *s = doc->text;
  for (size_t k = x->start + 1; k + 1 < x->end; k++) {
    if (s[k] != '\\') {
      if (sg_buf_putc(out, (char)s[k]) != 0) return -1;
      continue;
    }
    uint8_t c = s[++k];
    const char *map = "\"\"\\\\//b\bf\fn\nr\rt\t";
    const char *m = c == 'u' ? NULL : strchr(map, c);
    if (m) {
      if (sg_buf_putc(out, m[1]) != 0) return -1;
      continue;
    }
    parser p = {NULL, s, x->end, 0, NULL, 0};
    unsigned u = 0, lo = 0;
    hex4(&p, k + 1, &u);
    k += 4;
    if (u >= 0xD800 && u <= 0xDBFF) {
      hex4(&p, k + 3, &lo);
      u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
      k += 6;
    }
    if (put_utf8(out, u) != 0) return -1;
  }
  return 0;
}

int sg_json_validate(const uint8_t *p, size_t len, char *err, size_t errlen) {
  sg_jdoc doc = {0};
  int rc = sg_json_parse(&doc, p, len, err, errlen);
  sg_jdoc_free(&doc);
  return rc;
}

static void free_jdoc(void *st) {
  if (!st) return;
  sg_jdoc_free(st);
  free(st);
}

static int decode_json(sg_decoder *d, const uint8_t *buf, size_t len, sg_batch *b, uint32_t row, int col,
                       char *err, size_t errlen) {
  sg_jdoc *doc = d->state;
  char msg[200];
  if (sg_json_parse(doc, buf, len, msg, sizeof msg) != 0)
    return sg_fail(err, errlen, "column \"data\": %s", msg);
  const sg_jnode *root = &doc->nodes[0];
  if (sg_batch_set_bytes(b, row, col, buf + root->start, root->end - root->start) != 0)
    return sg_fail(err, errlen, "batch arena is full");
  return SG_DEC_OK;
}

sg_decoder *sg_decoder_json_new(char *err, size_t errlen) {
  sg_jdoc *doc = calloc(1, sizeof *doc);
  if (!doc) return sg_fail(err, errlen, "out of memory"), NULL;
  return sg_decoder_make("json", 1, decode_json, free_jdoc, doc, err, errlen);
}
