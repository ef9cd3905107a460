/* cmd_report.c — `gradcam report DIR`: DIR/index.html from the records a
 * data set run left in DIR/results.jsonl. One file, no network: the page's
 * style, script and summary plots (inline SVG) are in it, and its pictures
 * are the run's own files in DIR, linked relatively. */
#include "cli/cli.h"
#include "cli/report_svg.h"
#include "cli/results.h"

#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: gradcam report DIR\n"
    "\n"
    "Writes DIR/index.html from DIR/results.jsonl (what `gradcam explain\n"
    "--manifest ...` or `gradcam merge` wrote): summary plots, and a gallery\n"
    "of every image with its class, probability and metrics, which can be\n"
    "filtered by class and correctness and sorted by any metric; a click\n"
    "shows the full figure. The page needs no network.\n";

static const char *const options[] = {NULL};

static const char style[] =
    "body{font:14px/1.4 sans-serif;margin:1em 2em;color:#222}"
    "h1{font-size:1.4em}.plots{display:flex;flex-wrap:wrap;gap:1.5em}"
    ".plots figure{margin:0}.plots figcaption{font-weight:bold}"
    ".controls{margin:1em 0;display:flex;gap:1em;flex-wrap:wrap}"
    "#gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:10px}"
    ".card{border:1px solid #ccc;border-radius:4px;padding:6px;cursor:pointer;background:#fafafa}"
    ".card img{width:100%;image-rendering:pixelated}.card.wrong{border-color:#c33}"
    ".card.failed{background:#fee;cursor:default}.card table{font-size:11px;width:100%}"
    ".ok{color:#080}.bad{color:#c33}#lightbox{position:fixed;inset:0;background:rgba(0,0,0,.8);"
    "display:none;align-items:center;justify-content:center}#lightbox img{max-width:95%;"
    "max-height:95%;background:#fff}#lightbox.open{display:flex}";

/* Filters, sorting and the lightbox; the records are in #data. */
static const char script[] =
    "const D=JSON.parse(document.getElementById('data').textContent);\n"
    "const G=document.getElementById('gallery'),C=document.getElementById('cls'),"
    "K=document.getElementById('correct'),S=document.getElementById('sort'),"
    "N=document.getElementById('count'),L=document.getElementById('lightbox');\n"
    "const f=v=>typeof v==='number'?v.toFixed(3):v===true?'yes':v===false?'no':'';\n"
    "function val(r,k){if(k==='index')return r.index;if(k==='probability')return "
    "(r.probability==null?-1:r.probability);const [m,n]=k.split(':');const v=r.metrics&&r.metrics[m]&&"
    "r.metrics[m][n];return typeof v==='boolean'?+v:v==null?NaN:v}\n"
    "function state(r){return r.error?'failed':r.correct===true?'correct':"
    "r.correct===false?'wrong':'none'}\n"
    "function card(r){const d=document.createElement('div');d.className='card '+state(r);"
    "d.dataset.index=r.index;if(r.error){d.textContent=r.path+': '+r.error;return d}\n"
    "const img=document.createElement('img');img.src=r.overlay;img.alt=r.stem;"
    "img.loading='lazy';d.appendChild(img);const t=document.createElement('div');"
    "t.innerHTML='<b></b> <span></span>';t.firstChild.textContent=r.label;"
    "t.lastChild.textContent=(100*r.probability).toFixed(1)+'%'+(r.correct===true?' \\u2713':"
    "r.correct===false?' \\u2717 ('+r.predicted_label+')':'');t.lastChild.className="
    "r.correct===false?'bad':'ok';d.appendChild(t);const s=document.createElement('div');"
    "s.textContent=r.stem;d.appendChild(s);if(r.metrics&&r.metrics[D.method]){"
    "const tb=document.createElement('table');for(const k of D.keys){const v=r.metrics[D.method][k];"
    "if(v===undefined)continue;const tr=tb.insertRow();tr.insertCell().textContent=k;"
    "tr.insertCell().textContent=f(v)}d.appendChild(tb)}\n"
    "d.onclick=()=>{L.firstChild.src=r.figure;L.classList.add('open')};return d}\n"
    "function draw(){const c=C.value,k=K.value,s=S.value;let rs=D.records.filter(r=>"
    "(c===''||r.label===c)&&(k===''||state(r)===k));const dir=S.selectedOptions[0]."
    "dataset.dir==='desc'?-1:1;rs.sort((a,b)=>{const x=val(a,s),y=val(b,s);"
    "if(isNaN(x)&&isNaN(y))return a.index-b.index;if(isNaN(x))return 1;if(isNaN(y))return -1;"
    "return dir*(x-y)||a.index-b.index});G.replaceChildren(...rs.map(card));"
    "N.textContent=rs.length+' of '+D.records.length+' images'}\n"
    "for(const l of D.labels){const o=document.createElement('option');o.value=o.textContent=l;"
    "C.appendChild(o)}\n"
    "for(const k of D.sortKeys){const o=document.createElement('option');o.value=k.key;"
    "o.textContent=k.name;o.dataset.dir=k.dir;S.appendChild(o)}\n"
    "C.onchange=K.onchange=S.onchange=draw;L.onclick=()=>L.classList.remove('open');draw();\n";

static char *read_text(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* The name of a file the record lists that ends in end, or NULL. */
static const char *output_ending(const cJSON *r, const char *end)
{
    const cJSON *f;
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(r, "outputs")) {
        size_t n = cJSON_IsString(f) ? strlen(f->valuestring) : 0, e = strlen(end);
        if (n >= e && strcmp(f->valuestring + n - e, end) == 0 && !strchr(f->valuestring, '/'))
            return f->valuestring;
    }
    return NULL;
}

/* What the page's script reads: records slimmed to what it shows. */
static cJSON *page_data(const cli_records *recs, const char **method)
{
    cJSON *root = cJSON_CreateObject(), *list = cJSON_AddArrayToObject(root, "records");
    cJSON *labels = cJSON_AddArrayToObject(root, "labels");
    *method = NULL;
    for (int i = 0; i < recs->n; i++) {
        cJSON *r = recs->line[i] ? cJSON_Parse(recs->line[i]) : NULL;
        if (!r)
            continue;
        const char *ov = output_ending(r, ".overlay.png"), *fig = output_ending(r, ".figure.png");
        if (ov)
            cJSON_AddStringToObject(r, "overlay", ov);
        if (fig)
            cJSON_AddStringToObject(r, "figure", fig);
        cJSON_DeleteItemFromObject(r, "outputs");
        const cJSON *lab = cJSON_GetObjectItem(r, "label"), *l;
        int seen = 0;
        cJSON_ArrayForEach(l, labels) seen |= cJSON_IsString(lab) && !strcmp(l->valuestring,
                                                                            lab->valuestring);
        if (cJSON_IsString(lab) && !seen)
            cJSON_AddItemToArray(labels, cJSON_CreateString(lab->valuestring));
        const cJSON *m = cJSON_GetObjectItem(r, "metrics");
        if (!*method && m && m->child && strncmp(m->child->string, "baseline_", 9) != 0)
            *method = m->child->string;
        cJSON_AddItemToArray(list, r);
    }
    return root;
}

static void sort_keys(cJSON *root, const char *method)
{
    static const char *const keys[] = {"deletion", "insertion", "road_morf", "road_lerf",
                                       "road", "drop", "increase", "pointing", "energy"};
    static const int higher[] = {0, 1, 0, 1, 1, 0, 1, 1, 1};
    cJSON *sk = cJSON_AddArrayToObject(root, "sortKeys"), *ks = cJSON_AddArrayToObject(root, "keys");
    const char *fixed[][3] = {{"index", "data set order", "asc"},
                              {"probability", "probability, lowest first", "asc"}};
    for (int k = 0; k < 2; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", fixed[k][0]);
        cJSON_AddStringToObject(o, "name", fixed[k][1]);
        cJSON_AddStringToObject(o, "dir", fixed[k][2]);
        cJSON_AddItemToArray(sk, o);
    }
    cJSON_AddStringToObject(root, "method", method ? method : "");
    for (int k = 0; k < 9 && method; k++) {
        char key[160], name[200];
        snprintf(key, sizeof key, "%s:%s", method, keys[k]);
        snprintf(name, sizeof name, "%s %s, worst first", method, keys[k]);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "key", key);
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddStringToObject(o, "dir", higher[k] ? "asc" : "desc");
        cJSON_AddItemToArray(sk, o);
        cJSON_AddItemToArray(ks, cJSON_CreateString(keys[k]));
    }
}

/* JSON inside <script>: "</" would end the element. */
static void put_json(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (s[0] == '<' && s[1] == '/')
            fputs("<\\", f);
        else
            fputc(*s, f);
    }
}

int cmd_report(int argc, char **argv)
{
    cli_args a;
    int rc = cli_parse("report", options, argc, argv, 2, &a);
    if (rc || a.help) {
        if (a.help)
            fputs(help, stdout);
        return rc;
    }
    if (a.npositional != 1)
        return cli_usage_error("report", "give one folder (a data set run's --out)");
    rc = cli_write_report(a.positional[0]);
    if (!rc)
        printf("%s/index.html\n", a.positional[0]);
    return rc;
}

int cli_write_report(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/" CLI_RESULTS_FILE, dir);
    cli_records recs = {0};
    char *probe = read_text(path);
    if (!probe) {
        fprintf(stderr, "gradcam: %s: cannot read (run gradcam explain --manifest ... --out %s "
                "first)\n", path, dir);
        return EXIT_BAD_INPUT;
    }
    free(probe);
    if (cli_records_read(path, &recs)) {
        fprintf(stderr, "gradcam: out of memory\n");
        return EXIT_INTERNAL;
    }
    const char *method;
    cJSON *data = page_data(&recs, &method);
    cli_records_free(&recs);
    sort_keys(data, method);
    char *json = cJSON_PrintUnformatted(data);
    snprintf(path, sizeof path, "%s/index.html", dir);
    FILE *f = fopen(path, "w");
    if (!f || !json) {
        fprintf(stderr, "gradcam: %s: cannot write\n", path);
        free(json);
        cJSON_Delete(data);
        if (f)
            fclose(f);
        return EXIT_BAD_INPUT;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
            "<title>gradcam report</title>\n<style>%s</style></head><body>\n"
            "<h1>gradcam report</h1>\n", style);
    cli_report_summary(f, data);
    fputs("<div class=\"controls\"><label>class <select id=\"cls\"><option value=\"\">all"
          "</option></select></label>\n<label>prediction <select id=\"correct\">"
          "<option value=\"\">all</option><option value=\"correct\">correct</option>"
          "<option value=\"wrong\">wrong</option><option value=\"none\">no target</option>"
          "<option value=\"failed\">failed</option></select></label>\n"
          "<label>sort by <select id=\"sort\"></select></label> <span id=\"count\"></span>"
          "</div>\n<div id=\"gallery\"></div>\n<div id=\"lightbox\"><img alt=\"figure\">"
          "</div>\n<script type=\"application/json\" id=\"data\">", f);
    put_json(f, json);
    fprintf(f, "</script>\n<script>\n%s</script>\n</body></html>\n", script);
    const int bad = ferror(f) | (fclose(f) != 0);
    free(json);
    cJSON_Delete(data);
    if (bad) {
        fprintf(stderr, "gradcam: %s: cannot write\n", path);
        return EXIT_BAD_INPUT;
    }
    return EXIT_OK;
}
