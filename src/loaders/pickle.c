/* pickle.c — the restricted pickle VM declared in pickle.h.
 *
 * Every read is bounds-checked against the buffer, every size is checked
 * before it is multiplied or allocated, and the stack, mark stack, memo and
 * value count are capped, so hostile input ends in an error, never a crash
 * or an unbounded allocation. Values are never freed one by one: the heap
 * owns them all, which makes memo sharing and cycles harmless.
 *
 * Not here: the meaning of any global (the resolver decides), recursion of
 * any kind (cyclic trees are the interpreter's problem, see pth.c). */
#include "loaders/pickle.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

#define PK_DEFAULT_MAX_VALUES ((size_t)1 << 23)
#define PK_DEFAULT_MAX_STACK ((size_t)1 << 20)
#define PK_DEFAULT_MAX_MEMO ((size_t)1 << 22)
#define PK_MAX_GLOBAL_NAME 512
#define PK_CHUNK 1024

typedef struct pk_chunk {
    struct pk_chunk *next;
    size_t used;
    pk_value v[PK_CHUNK];
} pk_chunk;

struct pk_heap {
    pk_chunk *chunks;
    size_t count, max;
};

pk_heap *pk_heap_new(size_t max_values, gc_error *err)
{
    pk_heap *h = gc_calloc(1, sizeof *h, err);
    if (h)
        h->max = max_values ? max_values : PK_DEFAULT_MAX_VALUES;
    return h;
}

static void free_value_parts(pk_value *v)
{
    switch (v->kind) {
    case PK_BIGINT: case PK_STR: case PK_BYTES: free(v->u.s.p); break;
    case PK_TUPLE: case PK_LIST: free(v->u.seq.v); break;
    case PK_DICT: free(v->u.dict.k); free(v->u.dict.v); break;
    case PK_GLOBAL: free(v->u.global.module); free(v->u.global.name); break;
    default: break;
    }
}

void pk_heap_free(pk_heap *h)
{
    if (!h)
        return;
    pk_chunk *c = h->chunks;
    while (c) {
        pk_chunk *next = c->next;
        for (size_t i = 0; i < c->used; i++)
            free_value_parts(&c->v[i]);
        free(c);
        c = next;
    }
    free(h);
}

typedef struct vm {
    const pk_config *cfg;
    pk_heap *heap;
    const uint8_t *buf;
    size_t len, pos, op_pos;
    uint8_t op;
    pk_value **stack;
    size_t sp, stack_cap, max_stack;
    size_t *marks;
    size_t nmarks, marks_cap;
    pk_value **memo;
    size_t memo_cap, memo_defined, max_memo;
    gc_error *err;
} vm;

static const char *label(const vm *m) { return m->cfg->label ? m->cfg->label : "pickle"; }

static gc_status bad(vm *m, const char *why)
{
    return gc_fail(m->err, GC_ERR_FORMAT, "%s: malformed pickle at byte %zu (opcode 0x%02x): %s",
                   label(m), m->op_pos, m->op, why);
}

static gc_status nomem(vm *m)
{
    return gc_fail(m->err, GC_ERR_NOMEM, "%s: out of memory while unpickling", label(m));
}

/* Grows *p (elements of size sz) so that it holds at least need, capped. */
static int grow(void **p, size_t *cap, size_t need, size_t sz)
{
    if (need <= *cap)
        return 1;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / sz)
            return 0;
        ncap *= 2;
    }
    void *np = realloc(*p, ncap * sz);
    if (!np)
        return 0;
    *p = np;
    *cap = ncap;
    return 1;
}

static pk_value *new_value(vm *m, pk_kind kind)
{
    pk_heap *h = m->heap;
    if (h->count >= h->max) {
        gc_fail(m->err, GC_ERR_LIMIT, "%s: pickle makes more than %zu values", label(m), h->max);
        return NULL;
    }
    if (!h->chunks || h->chunks->used == PK_CHUNK) {
        pk_chunk *c = malloc(sizeof *c);
        if (!c) {
            nomem(m);
            return NULL;
        }
        c->used = 0;
        c->next = h->chunks;
        h->chunks = c;
    }
    pk_value *v = &h->chunks->v[h->chunks->used++];
    memset(v, 0, sizeof *v);
    v->kind = kind;
    h->count++;
    return v;
}

/* ---- reading ------------------------------------------------------------ */

static gc_status truncated(vm *m)
{
    return gc_fail(m->err, GC_ERR_FORMAT, "%s: truncated pickle at byte %zu", label(m), m->op_pos);
}

static gc_status take(vm *m, size_t n, const uint8_t **p)
{
    if (m->len - m->pos < n)
        return truncated(m);
    *p = m->buf + m->pos;
    m->pos += n;
    return GC_OK;
}

static uint64_t le(const uint8_t *p, int n)
{
    uint64_t x = 0;
    for (int i = n - 1; i >= 0; i--)
        x = (x << 8) | p[i];
    return x;
}

static gc_status read_uint(vm *m, int n, uint64_t *x)
{
    const uint8_t *p = NULL;
    gc_status st = take(m, (size_t)n, &p);
    if (st == GC_OK)
        *x = le(p, n);
    return st;
}

/* ---- stack -------------------------------------------------------------- */

static gc_status push(vm *m, pk_value *v)
{
    if (!v)
        return m->err ? m->err->status : GC_ERR_NOMEM;
    if (m->sp >= m->max_stack)
        return gc_fail(m->err, GC_ERR_LIMIT, "%s: pickle stack deeper than %zu at byte %zu",
                       label(m), m->max_stack, m->op_pos);
    if (!grow((void **)&m->stack, &m->stack_cap, m->sp + 1, sizeof *m->stack))
        return nomem(m);
    m->stack[m->sp++] = v;
    return GC_OK;
}

/* Items above the innermost mark; the mark is popped. */
static gc_status pop_mark(vm *m, size_t *base)
{
    if (!m->nmarks)
        return bad(m, "no MARK on the stack");
    *base = m->marks[--m->nmarks];
    return GC_OK;
}

static size_t floor_sp(const vm *m) { return m->nmarks ? m->marks[m->nmarks - 1] : 0; }

static gc_status pop(vm *m, pk_value **v)
{
    if (m->sp <= floor_sp(m))
        return bad(m, "stack underflow");
    *v = m->stack[--m->sp];
    return GC_OK;
}

static pk_value *top(vm *m) { return m->sp > floor_sp(m) ? m->stack[m->sp - 1] : NULL; }

/* ---- containers --------------------------------------------------------- */

static gc_status seq_add(vm *m, pk_value *seq, pk_value *item)
{
    if (!grow((void **)&seq->u.seq.v, &seq->u.seq.cap, seq->u.seq.n + 1, sizeof(pk_value *)))
        return nomem(m);
    seq->u.seq.v[seq->u.seq.n++] = item;
    return GC_OK;
}

static gc_status dict_add(vm *m, pk_value *d, pk_value *k, pk_value *v)
{
    size_t need = d->u.dict.n + 1, kcap = d->u.dict.cap, vcap = d->u.dict.cap;
    if (!grow((void **)&d->u.dict.k, &kcap, need, sizeof(pk_value *)) ||
        !grow((void **)&d->u.dict.v, &vcap, need, sizeof(pk_value *)))
        return nomem(m);
    d->u.dict.cap = kcap < vcap ? kcap : vcap;
    d->u.dict.k[d->u.dict.n] = k;
    d->u.dict.v[d->u.dict.n++] = v;
    return GC_OK;
}

/* Moves stack[base..sp) into a new tuple or list. */
static gc_status collect(vm *m, size_t base, pk_kind kind)
{
    pk_value *t = new_value(m, kind);
    if (!t)
        return m->err->status;
    size_t n = m->sp - base;
    if (n) {
        t->u.seq.v = malloc(n * sizeof(pk_value *));
        if (!t->u.seq.v)
            return nomem(m);
        memcpy(t->u.seq.v, m->stack + base, n * sizeof(pk_value *));
        t->u.seq.n = t->u.seq.cap = n;
    }
    m->sp = base;
    return push(m, t);
}

/* Adds stack[base..sp) as key/value pairs to d and pops them. */
static gc_status set_items(vm *m, pk_value *d, size_t base)
{
    if (d->kind != PK_DICT) {
        return gc_fail(m->err, GC_ERR_FORMAT,
                       "%s: pickle sets items on a %s at byte %zu (only dicts accept items)",
                       label(m), pk_kind_name(d->kind), m->op_pos);
    }
    if ((m->sp - base) % 2)
        return bad(m, "odd number of items for a dict");
    for (size_t i = base; i < m->sp; i += 2) {
        gc_status st = dict_add(m, d, m->stack[i], m->stack[i + 1]);
        if (st)
            return st;
    }
    m->sp = base;
    return GC_OK;
}

static gc_status append_items(vm *m, pk_value *l, size_t base)
{
    if (l->kind != PK_LIST) {
        return gc_fail(m->err, GC_ERR_FORMAT,
                       "%s: pickle appends to a %s at byte %zu (only lists accept appends)",
                       label(m), pk_kind_name(l->kind), m->op_pos);
    }
    for (size_t i = base; i < m->sp; i++) {
        gc_status st = seq_add(m, l, m->stack[i]);
        if (st)
            return st;
    }
    m->sp = base;
    return GC_OK;
}

/* ---- scalars and strings ------------------------------------------------ */

static gc_status push_int(vm *m, int64_t x)
{
    pk_value *v = new_value(m, PK_INT);
    if (v)
        v->u.i = x;
    return push(m, v);
}

static gc_status push_bytes(vm *m, pk_kind kind, uint64_t n)
{
    const uint8_t *p = NULL;
    if (n > m->len - m->pos)
        return truncated(m);
    gc_status st = take(m, (size_t)n, &p);
    if (st)
        return st;
    pk_value *v = new_value(m, kind);
    if (!v)
        return m->err->status;
    v->u.s.p = malloc((size_t)n + 1);
    if (!v->u.s.p)
        return nomem(m);
    memcpy(v->u.s.p, p, (size_t)n);
    v->u.s.p[n] = '\0';
    v->u.s.len = (size_t)n;
    return push(m, v);
}

static gc_status push_long1(vm *m)
{
    uint64_t n;
    const uint8_t *p = NULL;
    gc_status st = read_uint(m, 1, &n);
    if (st || (st = take(m, (size_t)n, &p)))
        return st;
    if (n <= 8) {
        uint64_t x = n ? le(p, (int)n) : 0;
        if (n && n < 8 && (p[n - 1] & 0x80))
            x |= ~(uint64_t)0 << (8 * n); /* sign-extend */
        return push_int(m, (int64_t)x);
    }
    pk_value *v = new_value(m, PK_BIGINT);
    if (!v)
        return m->err->status;
    if (!(v->u.s.p = malloc((size_t)n)))
        return nomem(m);
    memcpy(v->u.s.p, p, (size_t)n);
    v->u.s.len = (size_t)n;
    return push(m, v);
}

static gc_status push_float(vm *m)
{
    const uint8_t *p = NULL;
    gc_status st = take(m, 8, &p);
    if (st)
        return st;
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) /* big-endian on the wire */
        bits = (bits << 8) | p[i];
    pk_value *v = new_value(m, PK_FLOAT);
    if (v)
        memcpy(&v->u.f, &bits, sizeof bits);
    return push(m, v);
}

/* ---- memo --------------------------------------------------------------- */

static gc_status memo_put(vm *m, uint64_t idx)
{
    pk_value *v = top(m);
    if (!v)
        return bad(m, "memo store with an empty stack");
    if (idx >= m->max_memo)
        return gc_fail(m->err, GC_ERR_LIMIT, "%s: pickle memo index %llu at byte %zu is too large",
                       label(m), (unsigned long long)idx, m->op_pos);
    size_t old = m->memo_cap;
    if (!grow((void **)&m->memo, &m->memo_cap, (size_t)idx + 1, sizeof *m->memo))
        return nomem(m);
    if (m->memo_cap > old)
        memset(m->memo + old, 0, (m->memo_cap - old) * sizeof *m->memo);
    if (!m->memo[idx])
        m->memo_defined++;
    m->memo[idx] = v;
    return GC_OK;
}

static gc_status memo_get(vm *m, uint64_t idx)
{
    if (idx >= m->memo_cap || !m->memo[idx]) {
        return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle reads undefined memo entry %llu at byte %zu",
                       label(m), (unsigned long long)idx, m->op_pos);
    }
    return push(m, m->memo[idx]);
}

/* ---- globals and calls -------------------------------------------------- */

static int clean_name(const char *s, size_t len)
{
    if (!len || len > PK_MAX_GLOBAL_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

static gc_status push_global(vm *m, const char *mod, size_t mlen, const char *name, size_t nlen)
{
    char pm[128], pn[128];
    if (!clean_name(mod, mlen) || !clean_name(name, nlen)) {
        return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle names a malformed global '%s.%s' at byte %zu",
                       label(m), pk_printable(mod, mlen, pm, sizeof pm),
                       pk_printable(name, nlen, pn, sizeof pn), m->op_pos);
    }
    pk_value *g = new_value(m, PK_GLOBAL);
    if (!g)
        return m->err->status;
    g->u.global.module = strndup(mod, mlen);
    g->u.global.name = strndup(name, nlen);
    if (!g->u.global.module || !g->u.global.name)
        return nomem(m);
    int tag = 0;
    pk_role role = m->cfg->resolve ? m->cfg->resolve(m->cfg->ctx, g->u.global.module,
                                                     g->u.global.name, &tag)
                                   : PK_ROLE_FORBIDDEN;
    const char *hint = m->cfg->deny_hint ? m->cfg->deny_hint : "";
    if (role == PK_ROLE_FORBIDDEN)
        return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle refers to forbidden global '%s.%s'%s",
                       label(m), g->u.global.module, g->u.global.name, hint);
    if (role == PK_ROLE_UNSUPPORTED)
        return gc_fail(m->err, GC_ERR_UNSUPPORTED, "%s: pickle uses '%s.%s', which is not supported%s",
                       label(m), g->u.global.module, g->u.global.name, hint);
    g->u.global.role = role;
    g->u.global.tag = tag;
    return push(m, g);
}

static gc_status op_global(vm *m)
{
    const char *start[2];
    size_t n[2];
    for (int part = 0; part < 2; part++) {
        const uint8_t *p = m->buf + m->pos;
        size_t avail = m->len - m->pos;
        const uint8_t *nl = memchr(p, '\n', avail < PK_MAX_GLOBAL_NAME + 1 ? avail : PK_MAX_GLOBAL_NAME + 1);
        if (!nl)
            return avail <= PK_MAX_GLOBAL_NAME ? truncated(m) : bad(m, "global name too long");
        start[part] = (const char *)p;
        n[part] = (size_t)(nl - p);
        m->pos += n[part] + 1;
    }
    return push_global(m, start[0], n[0], start[1], n[1]);
}

static gc_status op_stack_global(vm *m)
{
    pk_value *mod = NULL, *name = NULL;
    gc_status st;
    if ((st = pop(m, &name)) || (st = pop(m, &mod)))
        return st;
    if (mod->kind != PK_STR || name->kind != PK_STR)
        return bad(m, "STACK_GLOBAL needs two strings");
    return push_global(m, mod->u.s.p, mod->u.s.len, name->u.s.p, name->u.s.len);
}

/* REDUCE and NEWOBJ: nothing is called; allowed callables become nodes. */
static gc_status op_reduce(vm *m, int newobj)
{
    pk_value *fn = NULL, *args = NULL;
    gc_status st;
    if ((st = pop(m, &args)) || (st = pop(m, &fn)))
        return st;
    if (args->kind != PK_TUPLE)
        return bad(m, "call arguments are not a tuple");
    if (fn->kind != PK_GLOBAL) {
        return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle calls a %s at byte %zu (only allowed globals may be called)",
                       label(m), pk_kind_name(fn->kind), m->op_pos);
    }
    pk_role role = fn->u.global.role;
    if (role == PK_ROLE_DICT_TYPE) {
        if (args->u.seq.n)
            return gc_fail(m->err, GC_ERR_UNSUPPORTED, "%s: pickle builds '%s.%s' from arguments at byte %zu",
                           label(m), fn->u.global.module, fn->u.global.name, m->op_pos);
        return push(m, new_value(m, PK_DICT));
    }
    if (role != PK_ROLE_CALLABLE || newobj) {
        return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle calls '%s.%s' at byte %zu, which is not callable here",
                       label(m), fn->u.global.module, fn->u.global.name, m->op_pos);
    }
    pk_value *c = new_value(m, PK_CALL);
    if (c) {
        c->u.call.func = fn;
        c->u.call.args = args;
    }
    return push(m, c);
}

/* BUILD sets an object's state: torch puts `_metadata` on state_dict
 * OrderedDicts this way. Dicts ignore it; call nodes keep it for the
 * interpreter; anything else is refused. */
static gc_status op_build(vm *m)
{
    pk_value *state = NULL, *obj = NULL;
    gc_status st;
    if ((st = pop(m, &state)))
        return st;
    if (!(obj = top(m)))
        return bad(m, "BUILD with nothing to build");
    if (obj->kind == PK_DICT)
        return GC_OK;
    if (obj->kind == PK_CALL) {
        obj->u.call.state = state;
        return GC_OK;
    }
    return gc_fail(m->err, GC_ERR_FORMAT, "%s: pickle sets state on a %s at byte %zu",
                   label(m), pk_kind_name(obj->kind), m->op_pos);
}

static gc_status op_persid(vm *m)
{
    pk_value *pid = NULL;
    gc_status st = pop(m, &pid);
    if (st)
        return st;
    if (!m->cfg->persistent_load)
        return bad(m, "persistent ids are not allowed here");
    pk_value *v = new_value(m, PK_PERSID);
    if (!v)
        return m->err->status;
    v->u.persid.pid = pid;
    if ((st = m->cfg->persistent_load(m->cfg->ctx, pid, &v->u.persid.user, m->err)))
        return st;
    return push(m, v);
}

/* ---- the loop ----------------------------------------------------------- */

static gc_status step(vm *m, pk_value **result, int *done)
{
    uint64_t x;
    size_t base = 0;
    pk_value *a;
    gc_status st;

    m->op_pos = m->pos;
    if (m->pos >= m->len)
        return truncated(m);
    m->op = m->buf[m->pos++];
    switch (m->op) {
    case 0x80: /* PROTO */
        if ((st = read_uint(m, 1, &x)))
            return st;
        if (x > 5)
            return gc_fail(m->err, GC_ERR_UNSUPPORTED, "%s: pickle protocol %llu is not supported",
                           label(m), (unsigned long long)x);
        return GC_OK;
    case 0x95: /* FRAME: a length hint we do not need */
        return read_uint(m, 8, &x);
    case '.': /* STOP */
        if ((st = pop(m, result)))
            return st;
        *done = 1;
        return GC_OK;
    case '(': /* MARK */
        if (m->nmarks >= m->max_stack)
            return gc_fail(m->err, GC_ERR_LIMIT, "%s: too many nested MARKs", label(m));
        if (!grow((void **)&m->marks, &m->marks_cap, m->nmarks + 1, sizeof *m->marks))
            return nomem(m);
        m->marks[m->nmarks++] = m->sp;
        return GC_OK;
    case '}': return push(m, new_value(m, PK_DICT));
    case ']': return push(m, new_value(m, PK_LIST));
    case ')': return push(m, new_value(m, PK_TUPLE));
    case 'd': /* DICT */
        if ((st = pop_mark(m, &base)))
            return st;
        if (!(a = new_value(m, PK_DICT)) || (st = set_items(m, a, base)))
            return m->err->status;
        return push(m, a);
    case 'l': /* LIST */
        if ((st = pop_mark(m, &base)))
            return st;
        return collect(m, base, PK_LIST);
    case 't': /* TUPLE */
        if ((st = pop_mark(m, &base)))
            return st;
        return collect(m, base, PK_TUPLE);
    case 0x85: case 0x86: case 0x87: /* TUPLE1..3 */
        x = (uint64_t)(m->op - 0x84);
        if (m->sp - floor_sp(m) < x)
            return bad(m, "stack underflow");
        return collect(m, m->sp - (size_t)x, PK_TUPLE);
    case 's': /* SETITEM */
        if (m->sp - floor_sp(m) < 3)
            return bad(m, "SETITEM needs a target, a key and a value");
        return set_items(m, m->stack[m->sp - 3], m->sp - 2);
    case 'u': /* SETITEMS */
        if ((st = pop_mark(m, &base)))
            return st;
        if (base <= floor_sp(m))
            return bad(m, "SETITEMS with no target");
        return set_items(m, m->stack[base - 1], base);
    case 'a': /* APPEND */
        if (m->sp - floor_sp(m) < 2)
            return bad(m, "APPEND needs a target and a value");
        return append_items(m, m->stack[m->sp - 2], m->sp - 1);
    case 'e': /* APPENDS */
        if ((st = pop_mark(m, &base)))
            return st;
        if (base <= floor_sp(m))
            return bad(m, "APPENDS with no target");
        return append_items(m, m->stack[base - 1], base);
    case 'J': /* BININT */
        if ((st = read_uint(m, 4, &x)))
            return st;
        return push_int(m, (int64_t)(int32_t)(uint32_t)x);
    case 'K': /* BININT1 */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return push_int(m, (int64_t)x);
    case 'M': /* BININT2 */
        if ((st = read_uint(m, 2, &x)))
            return st;
        return push_int(m, (int64_t)x);
    case 0x8a: return push_long1(m);
    case 'G': return push_float(m);
    case 'N': return push(m, new_value(m, PK_NONE));
    case 0x88: case 0x89: /* NEWTRUE, NEWFALSE */
        if ((a = new_value(m, PK_BOOL)))
            a->u.i = m->op == 0x88;
        return push(m, a);
    case 'X': /* BINUNICODE */
        if ((st = read_uint(m, 4, &x)))
            return st;
        return push_bytes(m, PK_STR, x);
    case 0x8c: /* SHORT_BINUNICODE */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return push_bytes(m, PK_STR, x);
    case 0x8d: /* BINUNICODE8 */
        if ((st = read_uint(m, 8, &x)))
            return st;
        return push_bytes(m, PK_STR, x);
    case 'T': /* BINSTRING: Python 2 str, read as text like Python 3 does */
        if ((st = read_uint(m, 4, &x)))
            return st;
        if (x & 0x80000000u)
            return bad(m, "negative BINSTRING length");
        return push_bytes(m, PK_STR, x);
    case 'U': /* SHORT_BINSTRING */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return push_bytes(m, PK_STR, x);
    case 'B': /* BINBYTES */
        if ((st = read_uint(m, 4, &x)))
            return st;
        return push_bytes(m, PK_BYTES, x);
    case 'C': /* SHORT_BINBYTES */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return push_bytes(m, PK_BYTES, x);
    case 0x8e: /* BINBYTES8 */
        if ((st = read_uint(m, 8, &x)))
            return st;
        return push_bytes(m, PK_BYTES, x);
    case 'q': /* BINPUT */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return memo_put(m, x);
    case 'r': /* LONG_BINPUT */
        if ((st = read_uint(m, 4, &x)))
            return st;
        return memo_put(m, x);
    case 0x94: /* MEMOIZE */
        return memo_put(m, m->memo_defined);
    case 'h': /* BINGET */
        if ((st = read_uint(m, 1, &x)))
            return st;
        return memo_get(m, x);
    case 'j': /* LONG_BINGET */
        if ((st = read_uint(m, 4, &x)))
            return st;
        return memo_get(m, x);
    case 'c': return op_global(m);
    case 0x93: return op_stack_global(m);
    case 'R': return op_reduce(m, 0);
    case 0x81: return op_reduce(m, 1);
    case 'b': return op_build(m);
    case 'Q': return op_persid(m);
    default:
        return gc_fail(m->err, GC_ERR_FORMAT,
                       "%s: pickle opcode 0x%02x at byte %zu is not allowed in a checkpoint",
                       label(m), m->op, m->op_pos);
    }
}

gc_status pk_load(const pk_config *cfg, pk_heap *heap, const uint8_t *buf, size_t len,
                  size_t *pos, pk_value **out, gc_error *err)
{
    gc_error local;
    vm m = {0};
    m.cfg = cfg;
    m.heap = heap;
    m.buf = buf;
    m.len = len;
    m.pos = *pos;
    m.err = err ? err : &local;
    m.max_stack = cfg->max_stack ? cfg->max_stack : PK_DEFAULT_MAX_STACK;
    m.max_memo = cfg->max_memo ? cfg->max_memo : PK_DEFAULT_MAX_MEMO;
    *out = NULL;
    if (*pos > len)
        return gc_fail(m.err, GC_ERR_INTERNAL, "%s: pickle start past end", label(&m));
    /* a real pickler never numbers more memo entries than it wrote bytes */
    if (m.max_memo > len - *pos + 1)
        m.max_memo = len - *pos + 1;

    gc_status st = GC_OK;
    int done = 0;
    while (!st && !done)
        st = step(&m, out, &done);
    free(m.stack);
    free(m.marks);
    free(m.memo);
    if (st) {
        *out = NULL;
        return st;
    }
    *pos = m.pos;
    gc_ok(err);
    return GC_OK;
}

/* ---- helpers ------------------------------------------------------------ */

const char *pk_kind_name(pk_kind k)
{
    static const char *const names[] = {"None", "bool", "int", "int", "float", "str",
                                        "bytes", "tuple", "list", "dict", "global",
                                        "object", "storage"};
    return (unsigned)k < sizeof names / sizeof *names ? names[k] : "value";
}

int pk_str_eq(const pk_value *v, const char *s)
{
    size_t n = strlen(s);
    return v && v->kind == PK_STR && v->u.s.len == n && memcmp(v->u.s.p, s, n) == 0;
}

const pk_value *pk_dict_get(const pk_value *d, const char *key)
{
    if (!d || d->kind != PK_DICT)
        return NULL;
    const pk_value *found = NULL; /* last one wins, as in Python */
    for (size_t i = 0; i < d->u.dict.n; i++)
        if (pk_str_eq(d->u.dict.k[i], key))
            found = d->u.dict.v[i];
    return found;
}

const char *pk_printable(const char *s, size_t len, char *out, size_t cap)
{
    if (!cap)
        return out;
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (o + 4 >= cap && i + 1 < len) {
            memcpy(out + o, "...", 3);
            o += 3;
            break;
        }
        unsigned char ch = (unsigned char)s[i];
        out[o++] = (ch < ' ' || ch >= 0x7f) ? '?' : (char)ch;
    }
    out[o] = '\0';
    return out;
}
