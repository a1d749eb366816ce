/* schema.c — a relation's columns and the type trees they point to. Every
 * allocation a schema makes is recorded on it and freed with it. */
#include <stdlib.h>
#include <string.h>
#include "../encode/encode.h"
#include "../util/util.h"

/* Allocations owned by a schema: a simple growable list of pointers. */
typedef struct owned {
  void **ptrs;
  size_t n, cap;
} owned;

static void *own(sg_schema *s, void *p) {
  if (!p) return NULL;
  owned *o = s->owned;
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 16;
    void **np = realloc(o->ptrs, cap * sizeof *np);
    if (!np) return free(p), NULL;
    o->ptrs = np;
    o->cap = cap;
  }
  o->ptrs[o->n++] = p;
  return p;
}

/* Replaces an owned pointer after a realloc. */
static void *reown(sg_schema *s, void *oldp, void *newp) {
  owned *o = s->owned;
  for (size_t i = 0; i < o->n; i++)
    if (o->ptrs[i] == oldp) o->ptrs[i] = newp;
  return newp;
}

static void *grow(sg_schema *s, void *p, size_t size) {
  void *np = realloc(p, size);
  if (!np) return NULL;
  return p ? reown(s, p, np) : own(s, np);
}

sg_schema *sg_schema_new(void) {
  sg_schema *s = calloc(1, sizeof *s);
  if (!s) return NULL;
  s->owned = calloc(1, sizeof(owned));
  if (!s->owned) return free(s), NULL;
  return s;
}

sg_typeinfo *sg_schema_type(sg_schema *s, int type, int precision, int scale) {
  if (type < SG_T_BOOL || type > SG_T_RECORD) return NULL;
  sg_typeinfo *t = own(s, calloc(1, sizeof *t));
  if (!t) return NULL;
  t->type = type;
  t->precision = precision;
  t->scale = scale;
  return t;
}

void sg_type_set_elem(sg_typeinfo *t, const sg_typeinfo *elem) { t->elem = elem; }

int sg_type_add_field(sg_schema *s, sg_typeinfo *r, const char *name, const sg_typeinfo *ft,
                      int nullable) {
  size_t n = (size_t)r->nfields + 1;
  const char **names = grow(s, (void *)r->field_names, n * sizeof *names);
  if (!names) return -1;
  r->field_names = names;
  const sg_typeinfo **types = grow(s, (void *)r->field_types, n * sizeof *types);
  if (!types) return -1;
  r->field_types = types;
  int *nulls = grow(s, (void *)r->field_nullable, n * sizeof *nulls);
  if (!nulls) return -1;
  r->field_nullable = nulls;
  char *copy = own(s, strdup(name));
  if (!copy) return -1;
  names[n - 1] = copy;
  types[n - 1] = ft;
  nulls[n - 1] = nullable ? 1 : 0;
  r->nfields = (int)n;
  return 0;
}

int sg_type_set_name(sg_schema *s, sg_typeinfo *r, const char *name) {
  char *copy = own(s, strdup(name));
  if (!copy) return -1;
  r->name = copy;
  return 0;
}

int sg_schema_add_column(sg_schema *s, const char *name, const sg_typeinfo *t, int nullable,
                         char *err, size_t errlen) {
  if (!t) return sg_fail(err, errlen, "column \"%s\": no type", name);
  for (int i = 0; i < s->ncols; i++)
    if (strcmp(s->cols[i].name, name) == 0)
      return sg_fail(err, errlen, "column \"%s\" is declared twice", name);
  if (s->ncols == s->cap) {
    int cap = s->cap ? s->cap * 2 : 8;
    sg_column *c = realloc(s->cols, (size_t)cap * sizeof *c);
    if (!c) return sg_fail(err, errlen, "out of memory");
    s->cols = c;
    s->cap = cap;
  }
  char *copy = own(s, strdup(name));
  if (!copy) return sg_fail(err, errlen, "out of memory");
  sg_buf key = {0};
  if (sg_json_put_string(&key, name, strlen(name)) != 0 || sg_buf_putc(&key, ':') != 0 || !own(s, key.data)) {
    free(key.data);
    return sg_fail(err, errlen, "out of memory");
  }
  s->cols[s->ncols++] = (sg_column){copy, t->type, nullable ? 1 : 0, t, key.data, key.len};
  return 0;
}

void sg_schema_free(sg_schema *s) {
  if (!s) return;
  owned *o = s->owned;
  for (size_t i = 0; i < o->n; i++) free(o->ptrs[i]);
  free(o->ptrs);
  free(o);
  free(s->cols);
  free(s);
}
