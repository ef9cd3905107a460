/* report_svg.c — see report_svg.h. */
#include "cli/report_svg.h"

#include <string.h>

#define MAX_MAPS 20
#define MAX_BARS 64

static const char *const KEYS[] = {"deletion", "insertion", "road_morf", "road_lerf", "road",
                                   "drop", "increase", "pointing", "energy"};
#define NKEYS 9
static const char *const COLOURS[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                      "#8c564b"};

static void text_escaped(FILE *f, const char *s)
{
    for (; *s; s++)
        if (*s == '<')
            fputs("&lt;", f);
        else if (*s == '&')
            fputs("&amp;", f);
        else if (*s == '>')
            fputs("&gt;", f);
        else if (*s == '"')
            fputs("&quot;", f);
        else
            fputc(*s, f);
}

/* Vertical bars in [0, 1]: groups x series. */
static void bars(FILE *f, const char *title, int groups, const char *const *group_names,
                 int series, const char *const *series_names, const double *v /* g*s */)
{
    const int W = 60 + groups * (series * 14 + 16), H = 220, base = 170;
    fprintf(f, "<figure><figcaption>");
    text_escaped(f, title);
    fprintf(f, "</figcaption><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" role=\"img\">\n", W, H + 14 * series);
    for (int t = 0; t <= 4; t++) {
        const double y = base - 150.0 * t / 4;
        fprintf(f, "<line x1=\"40\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                "<text x=\"36\" y=\"%.1f\" font-size=\"10\" text-anchor=\"end\">%.2f</text>\n",
                W - 10, y, y, y + 3, t / 4.0);
    }
    for (int g = 0; g < groups; g++) {
        const int x0 = 50 + g * (series * 14 + 16);
        for (int s = 0; s < series; s++) {
            double val = v[g * series + s];
            val = val < 0 ? 0 : val > 1 ? 1 : val;
            fprintf(f, "<rect x=\"%d\" y=\"%.1f\" width=\"12\" height=\"%.1f\" fill=\"%s\">"
                    "<title>", x0 + 14 * s, base - 150 * val, 150 * val, COLOURS[s % 6]);
            text_escaped(f, series_names[s]);
            fprintf(f, " %s: %.4f</title></rect>\n", group_names[g], v[g * series + s]);
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\" text-anchor=\"end\" "
                "transform=\"rotate(-35 %d %d)\">", x0 + series * 7, base + 14, x0 + series * 7,
                base + 14);
        text_escaped(f, group_names[g]);
        fputs("</text>\n", f);
    }
    for (int s = 0; s < series && series > 1; s++) {
        fprintf(f, "<rect x=\"50\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>"
                "<text x=\"64\" y=\"%d\" font-size=\"11\">", H - 4 + 14 * s, COLOURS[s % 6],
                H + 5 + 14 * s);
        text_escaped(f, series_names[s]);
        fputs("</text>\n", f);
    }
    fputs("</svg></figure>\n", f);
}

static double number(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : cJSON_IsBool(v) ? cJSON_IsTrue(v) : -1;
}

void cli_report_summary(FILE *f, const cJSON *data)
{
    const cJSON *recs = cJSON_GetObjectItem(data, "records"), *r;
    int n = 0, failed = 0, targets = 0, right = 0;
    const char *maps[MAX_MAPS];
    int nmaps = 0;
    double sum[MAX_MAPS][NKEYS] = {{0}};
    int cnt[MAX_MAPS][NKEYS] = {{0}};
    double hist[10] = {0};
    const char *classes[MAX_BARS];
    double cls_right[MAX_BARS] = {0}, cls_n[MAX_BARS] = {0};
    int nclasses = 0;
    cJSON_ArrayForEach(r, recs) {
        n++;
        if (cJSON_GetObjectItem(r, "error")) {
            failed++;
            continue;
        }
        const double p = number(r, "probability");
        if (p >= 0)
            hist[p >= 1 ? 9 : (int)(p * 10)]++;
        const cJSON *c = cJSON_GetObjectItem(r, "correct");
        const cJSON *label = cJSON_GetObjectItem(r, "label");
        if (cJSON_IsBool(c) && cJSON_IsString(label)) {
            targets++;
            right += cJSON_IsTrue(c);
            int k = 0;
            while (k < nclasses && strcmp(classes[k], label->valuestring))
                k++;
            if (k == nclasses && nclasses < MAX_BARS)
                classes[nclasses++] = label->valuestring;
            if (k < nclasses)
                cls_n[k]++, cls_right[k] += cJSON_IsTrue(c);
        }
        const cJSON *m;
        cJSON_ArrayForEach(m, cJSON_GetObjectItem(r, "metrics")) {
            int k = 0;
            while (k < nmaps && strcmp(maps[k], m->string))
                k++;
            if (k == nmaps && nmaps < MAX_MAPS)
                maps[nmaps++] = m->string;
            for (int j = 0; j < NKEYS && k < nmaps; j++) {
                const double v = number(m, KEYS[j]);
                if (cJSON_GetObjectItem(m, KEYS[j]))
                    sum[k][j] += v, cnt[k][j]++;
            }
        }
    }
    fprintf(f, "<p id=\"summary\">%d images: %d explained, %d failed", n, n - failed, failed);
    if (targets)
        fprintf(f, "; top-1 accuracy against the targets %.1f%% (%d of %d)",
                100.0 * right / targets, right, targets);
    fputs(".</p>\n<div class=\"plots\">\n", f);
    if (nmaps) {
        double v[NKEYS * MAX_MAPS];
        for (int j = 0; j < NKEYS; j++)
            for (int k = 0; k < nmaps; k++)
                v[j * nmaps + k] = cnt[k][j] ? sum[k][j] / cnt[k][j] : 0;
        bars(f, "Mean metrics per map (hover for values)", NKEYS, KEYS, nmaps, maps, v);
    }
    {
        const char *bins[10] = {"0-.1", ".1-.2", ".2-.3", ".3-.4", ".4-.5", ".5-.6", ".6-.7",
                                ".7-.8", ".8-.9", ".9-1"};
        const char *series[1] = {"share of images"};
        double v[10];
        for (int b = 0; b < 10; b++)
            v[b] = n > failed ? hist[b] / (n - failed) : 0;
        bars(f, "Probability of the explained class (share of images)", 10, bins, 1, series, v);
    }
    if (nclasses) {
        const char *series[1] = {"accuracy"};
        double v[MAX_BARS];
        for (int k = 0; k < nclasses; k++)
            v[k] = cls_right[k] / cls_n[k];
        bars(f, "Top-1 accuracy per class", nclasses, classes, 1, series, v);
    }
    fputs("</div>\n", f);
}
