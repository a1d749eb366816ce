/* value.c — walking the packed form of nested values (see value.h). */
#include "value.h"

static int skip(sg_cursor *c, const sg_typeinfo *t);

static int skip_nullable(sg_cursor *c, const sg_typeinfo *t) {
  unsigned isnull;
  if (sg_cur_u8(c, &isnull) != 0) return -1;
  return isnull ? 0 : skip(c, t);
}

static int skip(sg_cursor *c, const sg_typeinfo *t) {
  uint32_t n, klen;
  switch (sg_type_kind(t->type)) {
    case SG_K_FIXED:
      if (c->end - c->p < 8) return -1;
      c->p += 8;
      return 0;
    case SG_K_RAW16:
      if (c->end - c->p < 16) return -1;
      c->p += 16;
      return 0;
    case SG_K_VAR:
      if (sg_cur_u32(c, &n) != 0 || (uint32_t)(c->end - c->p) < n) return -1;
      c->p += n;
      return 0;
    default: break;
  }
  if (t->type == SG_T_RECORD) {
    for (int i = 0; i < t->nfields; i++)
      if (skip_nullable(c, t->field_types[i]) != 0) return -1;
    return 0;
  }
  if (sg_cur_u32(c, &n) != 0) return -1;
  for (uint32_t i = 0; i < n; i++) {
    if (t->type == SG_T_MAP) {
      if (sg_cur_u32(c, &klen) != 0 || (uint32_t)(c->end - c->p) < klen) return -1;
      c->p += klen;
    }
    if (skip_nullable(c, t->elem) != 0) return -1;
  }
  return 0;
}

int sg_packed_read(sg_cursor *c, const sg_typeinfo *t, sg_val *v) {
  const unsigned char *start = c->p;
  int kind = sg_type_kind(t->type);
  if (kind == SG_K_FIXED) {
    if (c->end - c->p < 8) return -1;
    memcpy(&v->d.u, c->p, 8);
    c->p += 8;
    return 0;
  }
  if (kind == SG_K_VAR) {
    uint32_t n;
    if (sg_cur_u32(c, &n) != 0 || (uint32_t)(c->end - c->p) < n) return -1;
    v->p = c->p;
    v->len = n;
    c->p += n;
    return 0;
  }
  if (skip(c, t) != 0) return -1;
  v->p = start;
  v->len = (uint32_t)(c->p - start);
  return 0;
}
