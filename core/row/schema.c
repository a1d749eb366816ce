/* schema.c — a relation's columns. */
#include <stdlib.h>
#include <string.h>
#include "../util/util.h"

sg_schema *sg_schema_new(void) { return calloc(1, sizeof(sg_schema)); }

int sg_schema_add_column(sg_schema *s, const char *name, int type, int nullable,
                         int precision, int scale, char *err, size_t errlen) {
  if (type < SG_T_BOOL || type > SG_T_RECORD)
    return sg_fail(err, errlen, "column \"%s\": unknown type id %d", name, type);
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
  char *copy = strdup(name);
  if (!copy) return sg_fail(err, errlen, "out of memory");
  s->cols[s->ncols++] = (sg_column){copy, type, nullable ? 1 : 0, precision, scale};
  return 0;
}

void sg_schema_free(sg_schema *s) {
  if (!s) return;
  for (int i = 0; i < s->ncols; i++) free((void *)s->cols[i].name);
  free(s->cols);
  free(s);
}
