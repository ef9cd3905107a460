/* onnx_einsum.c — Einsum as attention writes it (MaxViT: "bghid,bghjd->
 * bghij" for q k^T, "bghij,bghjd->bghid" for the weighted values): two
 * computed operands sharing their leading axes (the batch first), one
 * contracted letter, one free letter each. It becomes per-image transposes
 * that bring each operand to [shared..., i, k] and [shared..., k, j], a
 * batched MatMul, and a transpose to the output's order where that differs,
 * so the backward pass is those operators'. Deliberately not here: sums
 * over more than one letter, diagonals (a letter twice in one operand),
 * broadcasting ("..."), one or three operands, constant operands. */
#include "loaders/onnx_internal.h"

#include <ctype.h>
#include <string.h>

typedef struct term {
    char l[GC_MAX_DIMS + 1];
    int n;
} term;

/* "ab c,..." -> letters of one term, spaces skipped; the end after it. */
static const char *parse_term(const char *s, const char *end, term *t)
{
    t->n = 0;
    for (; s < end && *s != ',' && *s != '-'; s++) {
        if (isspace((unsigned char)*s))
            continue;
        if (!isalpha((unsigned char)*s) || t->n == GC_MAX_DIMS + 1)
            return NULL;
        for (int k = 0; k < t->n; k++)
            if (t->l[k] == *s)
                return NULL; /* a diagonal */
        t->l[t->n++] = *s;
    }
    return s;
}

static int find(const term *t, char c)
{
    for (int k = 0; k < t->n; k++)
        if (t->l[k] == c)
            return k;
    return -1;
}

/* A per-image transpose of node x (ONNX rank n, batch at 0) putting ONNX
 * axis order[k] at k; x itself when that is the identity; -1 on failure. */
static int permute(onnx_loader *L, int x, const int *order, int n)
{
    int identity = 1;
    for (int k = 0; k < n; k++)
        identity &= order[k] == k;
    if (identity)
        return x;
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return -1;
    e->ndim = n - 1;
    for (int k = 1; k < n; k++)
        e->perm[k - 1] = order[k] - 1;
    return onnx_add_node(L, GC_OP_TRANSPOSE, &x, 1, e);
}

gc_status onnx_conv_einsum(onnx_loader *L, const Onnx__NodeProto *nd, int arg)
{
    (void)arg;
    const char *eq = NULL;
    size_t len = 0;
    for (size_t k = 0; k < nd->n_attribute; k++)
        if (nd->attribute[k]->name && !strcmp(nd->attribute[k]->name, "equation"))
            eq = (const char *)nd->attribute[k]->s.data, len = nd->attribute[k]->s.len;
    if (!eq)
        return onnx_fail(L, GC_ERR_FORMAT, "no equation");
    const char *end = eq + len, *arrow = NULL;
    for (const char *p = eq; p + 1 < end; p++)
        if (p[0] == '-' && p[1] == '>')
            arrow = p;
    term a, b, o;
    const char *p = arrow ? parse_term(eq, arrow, &a) : NULL;
    if (p && *p == ',')
        p = parse_term(p + 1, arrow, &b);
    else
        p = NULL;
    if (!p || p != arrow || !parse_term(arrow + 2, end, &o))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "equation '%.*s': only two operands and an "
                         "explicit output, without '...' or repeated letters", (int)len, eq);
    const value *va = onnx_input(L, nd, 0), *vb = onnx_input(L, nd, 1);
    if (nd->n_input != 2 || !va || !vb || va->kind != V_NODE || vb->kind != V_NODE ||
        !onnx_batch_plain(va) || !onnx_batch_plain(vb))
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "Einsum of other than two computed tensors "
                         "with the batch first");
    if (L->shapes[va->node].ndim + 1 != a.n || L->shapes[vb->node].ndim + 1 != b.n)
        return onnx_fail(L, GC_ERR_FORMAT, "the equation's terms do not match the inputs' ranks");
    /* Shared letters: in a, b and the output; i: a and output only; j: b
     * and output only; k: a and b only. */
    char i = 0, j = 0, c = 0;
    int shared = 0;
    for (int q = 0; q < a.n; q++) {
        const int inb = find(&b, a.l[q]) >= 0, ino = find(&o, a.l[q]) >= 0;
        if (inb && ino)
            shared++;
        else if (ino && !i)
            i = a.l[q];
        else if (inb && !c)
            c = a.l[q];
        else
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "Einsum other than a batched matrix "
                             "product (letter '%c')", a.l[q]);
    }
    for (int q = 0; q < b.n; q++)
        if (find(&a, b.l[q]) < 0 && find(&o, b.l[q]) >= 0 && !j)
            j = b.l[q];
        else if (find(&a, b.l[q]) < 0)
            return onnx_fail(L, GC_ERR_UNSUPPORTED, "Einsum other than a batched matrix "
                             "product (letter '%c')", b.l[q]);
    if (!i || !j || !c || o.n != shared + 2 || a.n != shared + 2 || b.n != shared + 2 ||
        o.l[0] != a.l[0] || o.l[0] != b.l[0])
        return onnx_fail(L, GC_ERR_UNSUPPORTED, "Einsum other than a batched matrix product "
                         "over shared leading axes, the batch first");
    /* The shared letters in the output's order, then each operand's pair. */
    int oa[GC_MAX_DIMS + 1], ob[GC_MAX_DIMS + 1], oo[GC_MAX_DIMS + 1], n = 0;
    for (int q = 0; q < o.n; q++)
        if (o.l[q] != i && o.l[q] != j)
            oa[n] = find(&a, o.l[q]), ob[n] = find(&b, o.l[q]), n++;
    oa[n] = find(&a, i), oa[n + 1] = find(&a, c);
    ob[n] = find(&b, c), ob[n + 1] = find(&b, j);
    /* The product's axes are [shared (output order)..., i, j]; where each
     * output letter sits there. */
    term prod = {.n = 0};
    for (int q = 0; q < o.n; q++)
        if (o.l[q] != i && o.l[q] != j)
            prod.l[prod.n++] = o.l[q];
    prod.l[prod.n++] = i, prod.l[prod.n++] = j;
    for (int q = 0; q < o.n; q++)
        oo[q] = find(&prod, o.l[q]);
    int in[2] = {permute(L, va->node, oa, a.n), -1};
    in[1] = in[0] < 0 ? -1 : permute(L, vb->node, ob, b.n);
    if (in[1] < 0)
        return L->err->status;
    gc_params *e = onnx_new_params(L, 0);
    if (!e)
        return L->err->status;
    int y = onnx_add_node(L, GC_OP_MATMUL, in, 2, e);
    if (y >= 0)
        y = permute(L, y, oo, o.n);
    if (y < 0)
        return L->err->status;
    value v = {.name = onnx_output_name(nd), .kind = V_NODE, .node = y};
    return onnx_put(L, &v);
}
