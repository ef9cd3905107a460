/* winograd.c — 3x3, stride-1, pad-1 convolution by Winograd's minimal
 * filtering F(2x2, 3x3) (Lavin & Gray 2016): each 4x4 input tile and 3x3
 * filter are moved to a 16-point transform domain where the convolution is
 * 16 independent matrix products, done by BLAS with all tiles of all images
 * as the columns. 16 multiplies per 2x2 outputs instead of 36.
 *
 * Transforms (B^T d B, G g G^T, A^T m A):
 *   B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   G   = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1]
 *   A^T = [1 1 1 0; 0 1 -1 -1]
 * Deliberately not here: other tile sizes, strides, groups, the backward
 * pass (conv2d.c's GEMM path serves it). */
#include "ops/ops.h"

#include <cblas.h>
#include <omp.h>
#include <string.h>

int winograd_applies(const gc_window *s)
{
    return s->kh == 3 && s->kw == 3 && s->sh == 1 && s->sw == 1 && s->dh == 1 &&
           s->dw == 1 && s->groups == 1 && s->ph == 1 && s->pw == 1 && s->ho == s->h &&
           s->wo == s->w;
}

void winograd_transform_weights(float *U, const float *w, int k, int c)
{
    const size_t kc = (size_t)k * c;
    for (size_t q = 0; q < kc; q++) {
        const float *g = w + q * 9;
        float t[4][3]; /* G g */
        for (int j = 0; j < 3; j++) {
            float g0 = g[0 * 3 + j], g1 = g[1 * 3 + j], g2 = g[2 * 3 + j];
            t[0][j] = g0;
            t[1][j] = 0.5f * (g0 + g1 + g2);
            t[2][j] = 0.5f * (g0 - g1 + g2);
            t[3][j] = g2;
        }
        for (int i = 0; i < 4; i++) { /* (G g) G^T */
            float a = t[i][0], b = t[i][1], d = t[i][2];
            U[(size_t)(i * 4 + 0) * kc + q] = a;
            U[(size_t)(i * 4 + 1) * kc + q] = 0.5f * (a + b + d);
            U[(size_t)(i * 4 + 2) * kc + q] = 0.5f * (a - b + d);
            U[(size_t)(i * 4 + 3) * kc + q] = d;
        }
    }
}

static int tiles(const gc_window *s, int *th, int *tw)
{
    *th = (s->ho + 1) / 2;
    *tw = (s->wo + 1) / 2;
    return *th * *tw;
}

/* Per thread: four padded input rows and the 16 half-transformed values
 * of one tile row. */
static size_t thread_scratch(int tw) { return 4 * (size_t)(2 * tw + 2) + 16 * (size_t)tw; }

size_t winograd_workspace(const gc_window *s)
{
    int th, tw;
    size_t t = (size_t)s->n * tiles(s, &th, &tw);
    return 16 * t * ((size_t)s->c + s->oc) + (size_t)omp_get_max_threads() * thread_scratch(tw);
}

/* V[xi][c][t] = (B^T d B)[xi] for the 4x4 patch of tile t, zero outside.
 * Each tile row reads four input rows copied into zero-padded buffers, so
 * the inner loop over tiles has no bounds checks and vectorises. */
static void input_transform(float *V, const float *in, const gc_window *s, int th, int tw,
                            float *scratch)
{
    const size_t T = (size_t)s->n * th * tw, ct = (size_t)s->c * T;
    const int padded = 2 * tw + 2;
    #pragma omp parallel
    {
        float *mine = scratch + (size_t)omp_get_thread_num() * thread_scratch(tw);
        float *rows[4], *b[4][4]; /* b: B^T d, per tile column */
        for (int i = 0; i < 4; i++) {
            rows[i] = mine + (size_t)i * padded;
            for (int j = 0; j < 4; j++)
                b[i][j] = mine + 4 * (size_t)padded + (size_t)(i * 4 + j) * tw;
        }
        #pragma omp for schedule(static)
        for (int nc = 0; nc < s->n * s->c; nc++) {
            const int n = nc / s->c, ch = nc % s->c;
            const float *plane = in + (size_t)nc * s->h * s->w;
            for (int ty = 0; ty < th; ty++) {
                for (int i = 0; i < 4; i++) {
                    int y = 2 * ty - 1 + i;
                    if (y >= 0 && y < s->h) {
                        /* Only the padding around the copied row is zeroed. */
                        rows[i][0] = 0.0f;
                        memcpy(rows[i] + 1, plane + (size_t)y * s->w, sizeof(float) * s->w);
                        for (int q = s->w + 1; q < padded; q++)
                            rows[i][q] = 0.0f;
                    } else {
                        memset(rows[i], 0, sizeof(float) * padded);
                    }
                }
                for (int j = 0; j < 4; j++)
                    for (int tx = 0; tx < tw; tx++) {
                        float d0 = rows[0][2 * tx + j], d1 = rows[1][2 * tx + j];
                        float d2 = rows[2][2 * tx + j], d3 = rows[3][2 * tx + j];
                        b[0][j][tx] = d0 - d2;
                        b[1][j][tx] = d1 + d2;
                        b[2][j][tx] = d2 - d1;
                        b[3][j][tx] = d1 - d3;
                    }
                float *v = V + (size_t)ch * T + ((size_t)n * th + ty) * tw;
                for (int i = 0; i < 4; i++) {
                    float *v0 = v + (size_t)(i * 4 + 0) * ct, *v1 = v + (size_t)(i * 4 + 1) * ct;
                    float *v2 = v + (size_t)(i * 4 + 2) * ct, *v3 = v + (size_t)(i * 4 + 3) * ct;
                    for (int tx = 0; tx < tw; tx++) {
                        float e0 = b[i][0][tx], e1 = b[i][1][tx], e2 = b[i][2][tx], e3 = b[i][3][tx];
                        v0[tx] = e0 - e2;
                        v1[tx] = e1 + e2;
                        v2[tx] = e2 - e1;
                        v3[tx] = e1 - e3;
                    }
                }
            }
        }
    }
}

/* out = A^T m A for every tile, plus bias, clipped at the borders. */
static void output_transform(float *out, const float *M, const float *bias,
                             const gc_window *s, int th, int tw)
{
    const size_t T = (size_t)s->n * th * tw, kt = (size_t)s->oc * T;
    #pragma omp parallel for schedule(static)
    for (int nk = 0; nk < s->n * s->oc; nk++) {
        const int n = nk / s->oc, k = nk % s->oc;
        float *plane = out + (size_t)nk * s->ho * s->wo;
        const float b = bias ? bias[k] : 0.0f;
        for (int ty = 0; ty < th; ty++)
            for (int tx = 0; tx < tw; tx++) {
                size_t t = ((size_t)n * th + ty) * tw + tx;
                const float *m = M + (size_t)k * T + t;
                float r[2][4]; /* A^T m */
                for (int j = 0; j < 4; j++) {
                    float m0 = m[(size_t)(0 * 4 + j) * kt], m1 = m[(size_t)(1 * 4 + j) * kt];
                    float m2 = m[(size_t)(2 * 4 + j) * kt], m3 = m[(size_t)(3 * 4 + j) * kt];
                    r[0][j] = m0 + m1 + m2;
                    r[1][j] = m1 - m2 - m3;
                }
                for (int i = 0; i < 2; i++) {
                    int y = 2 * ty + i;
                    if (y >= s->ho)
                        break;
                    float y0 = r[i][0] + r[i][1] + r[i][2] + b;
                    float y1 = r[i][1] - r[i][2] - r[i][3] + b;
                    plane[(size_t)y * s->wo + 2 * tx] = y0;
                    if (2 * tx + 1 < s->wo)
                        plane[(size_t)y * s->wo + 2 * tx + 1] = y1;
                }
            }
    }
}

void conv2d_winograd_forward(float *out, const float *in, const float *U, const float *bias,
                             const gc_window *s, float *work)
{
    int th, tw;
    const size_t T = (size_t)s->n * tiles(s, &th, &tw);
    float *V = work, *M = V + 16 * T * s->c, *scratch = M + 16 * T * s->oc;
    input_transform(V, in, s, th, tw, scratch);
    for (int xi = 0; xi < 16; xi++)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->oc, (int)T, s->c, 1.0f,
                    U + (size_t)xi * s->oc * s->c, s->c, V + (size_t)xi * s->c * T, (int)T,
                    0.0f, M + (size_t)xi * s->oc * T, (int)T);
    output_transform(out, M, bias, s, th, tw);
}
