/* pipeline.c — see pipeline.h. Three counters (items loaded, computed,
 * written) under one mutex say which slot of a ring of three each stage may
 * use; a stage waits on the condition variable until the stage before it
 * has moved on. Deliberately simple: one lock, broadcast on every change. */
#include "cli/pipeline.h"

#include <pthread.h>
#include <stdlib.h>

#define SLOTS 3

typedef struct run {
    const cli_pipeline *p;
    unsigned char *slots;
    int failed[SLOTS];  /* per slot: what load or compute returned       */
    int loaded, computed, written;
    int last;           /* items past this one are not started           */
    int compute_done;   /* the calling thread has left its loop          */
    int stop, rc;       /* write failed: its exit code                   */
    pthread_mutex_t mu;
    pthread_cond_t cv;
} run;

static void *slot(run *r, int i) { return r->slots + (size_t)(i % SLOTS) * r->p->item_size; }

static void advance(run *r, int *counter, int value)
{
    pthread_mutex_lock(&r->mu);
    *counter = value;
    pthread_cond_broadcast(&r->cv);
    pthread_mutex_unlock(&r->mu);
}

static void *load_thread(void *arg)
{
    run *r = arg;
    for (int i = 0; i < r->p->n; i++) {
        pthread_mutex_lock(&r->mu);
        while (i - r->written >= SLOTS && !r->stop && i <= r->last)
            pthread_cond_wait(&r->cv, &r->mu);
        int go = !r->stop && i <= r->last;
        pthread_mutex_unlock(&r->mu);
        if (!go)
            break;
        r->failed[i % SLOTS] = r->p->load(r->p->ctx, i, slot(r, i));
        advance(r, &r->loaded, i + 1);
    }
    return NULL;
}

static void *write_thread(void *arg)
{
    run *r = arg;
    for (int i = 0; i < r->p->n; i++) {
        pthread_mutex_lock(&r->mu);
        while (r->computed <= i && !r->compute_done)
            pthread_cond_wait(&r->cv, &r->mu);
        int go = r->computed > i;
        pthread_mutex_unlock(&r->mu);
        if (!go)
            break;
        int rc = r->p->write(r->p->ctx, i, slot(r, i), r->failed[i % SLOTS]);
        pthread_mutex_lock(&r->mu);
        r->written = i + 1;
        if (rc && !r->stop)
            r->stop = 1, r->rc = rc;
        pthread_cond_broadcast(&r->cv);
        pthread_mutex_unlock(&r->mu);
        if (rc)
            break;
    }
    return NULL;
}

int cli_pipeline_run(const cli_pipeline *p)
{
    run r = {.p = p, .last = p->n - 1};
    r.slots = calloc(SLOTS, p->item_size ? p->item_size : 1);
    if (!r.slots)
        return -1;
    pthread_mutex_init(&r.mu, NULL);
    pthread_cond_init(&r.cv, NULL);
    pthread_t loader, writer;
    if (pthread_create(&loader, NULL, load_thread, &r)) {
        free(r.slots);
        return -1;
    }
    if (pthread_create(&writer, NULL, write_thread, &r)) {
        advance(&r, &r.stop, 1);
        pthread_join(loader, NULL);
        for (int i = 0; i < r.loaded; i++)
            p->discard(p->ctx, slot(&r, i));
        free(r.slots);
        return -1;
    }
    for (int i = 0; i < p->n; i++) {
        pthread_mutex_lock(&r.mu);
        while (r.loaded <= i && !r.stop)
            pthread_cond_wait(&r.cv, &r.mu);
        int go = !r.stop;
        pthread_mutex_unlock(&r.mu);
        if (!go)
            break;
        int *failed = &r.failed[i % SLOTS];
        if (!*failed)
            *failed = p->compute(p->ctx, i, slot(&r, i));
        pthread_mutex_lock(&r.mu);
        r.computed = i + 1;
        const int stop = *failed && !p->keep_going;
        if (stop)
            r.last = i; /* nothing after a failure starts */
        pthread_cond_broadcast(&r.cv);
        pthread_mutex_unlock(&r.mu);
        if (stop)
            break;
    }
    advance(&r, &r.compute_done, 1);
    pthread_join(writer, NULL);
    pthread_join(loader, NULL);
    /* Items loaded (and perhaps computed) but never written. */
    for (int i = r.written; i < r.loaded; i++)
        p->discard(p->ctx, slot(&r, i));
    pthread_cond_destroy(&r.cv);
    pthread_mutex_destroy(&r.mu);
    free(r.slots);
    return r.rc;
}
