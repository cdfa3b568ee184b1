/*  sq_heap.c: see sq_heap.h. */
#include "sq_heap.h"

#include <assert.h>
#include <stdlib.h>

#define NOWHERE SIZE_MAX        //  position of an item not in the heap

typedef struct {
    int64_t key;                //  when
    uint32_t item;              //  what
} entry_t;

struct _sq_heap_t {
    entry_t *entries;           //  the heap, entries [0] smallest
    size_t size;                //  entries in use
    size_t capacity;            //  entries allocated
    size_t *position;           //  position [item] in entries, or NOWHERE
    size_t items;               //  length of position
};

sq_heap_t *
sq_heap_new (void)
{
    return (sq_heap_t *) calloc (1, sizeof (sq_heap_t));
}

void
sq_heap_destroy (sq_heap_t **self_p)
{
    sq_heap_t *self = *self_p;
    if (!self)
        return;
    free (self->entries);
    free (self->position);
    free (self);
    *self_p = NULL;
}

static void
s_place (sq_heap_t *self, size_t at, entry_t entry)
{
    self->entries [at] = entry;
    self->position [entry.item] = at;
}

static void
s_sift_up (sq_heap_t *self, size_t at)
{
    entry_t entry = self->entries [at];
    while (at > 0) {
        size_t parent = (at - 1) / 2;
        if (self->entries [parent].key <= entry.key)
            break;
        s_place (self, at, self->entries [parent]);
        at = parent;
    }
    s_place (self, at, entry);
}

static void
s_sift_down (sq_heap_t *self, size_t at)
{
    entry_t entry = self->entries [at];
    while (true) {
        size_t child = 2 * at + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size && self->entries [child + 1].key < self->entries [child].key)
            child++;
        if (entry.key <= self->entries [child].key)
            break;
        s_place (self, at, self->entries [child]);
        at = child;
    }
    s_place (self, at, entry);
}

int
sq_heap_set (sq_heap_t *self, uint32_t item, int64_t key)
{
    if (item >= self->items) {
        size_t items = self->items ? self->items : 64;
        while (items <= item)
            items *= 2;
        size_t *position = (size_t *) realloc (self->position, items * sizeof (size_t));
        if (!position)
            return -1;
        for (size_t index = self->items; index < items; index++)
            position [index] = NOWHERE;
        self->position = position;
        self->items = items;
    }
    size_t at = self->position [item];
    if (at != NOWHERE) {
        int64_t old = self->entries [at].key;
        self->entries [at].key = key;
        if (key < old)
            s_sift_up (self, at);
        else
            s_sift_down (self, at);
        return 0;
    }
    if (self->size == self->capacity) {
        size_t capacity = self->capacity ? self->capacity * 2 : 64;
        entry_t *entries = (entry_t *) realloc (self->entries, capacity * sizeof (entry_t));
        if (!entries)
            return -1;
        self->entries = entries;
        self->capacity = capacity;
    }
    self->entries [self->size] = (entry_t) { key, item };
    self->position [item] = self->size;
    self->size++;
    s_sift_up (self, self->size - 1);
    return 0;
}

void
sq_heap_remove (sq_heap_t *self, uint32_t item)
{
    if (item >= self->items || self->position [item] == NOWHERE)
        return;
    size_t at = self->position [item];
    self->position [item] = NOWHERE;
    self->size--;
    if (at == self->size)
        return;
    entry_t last = self->entries [self->size];
    self->entries [at] = last;
    self->position [last.item] = at;
    //  The moved entry may belong above or below its new place.
    if (at > 0 && self->entries [(at - 1) / 2].key > last.key)
        s_sift_up (self, at);
    else
        s_sift_down (self, at);
}

bool
sq_heap_peek (sq_heap_t *self, uint32_t *item, int64_t *key)
{
    if (self->size == 0)
        return false;
    *item = self->entries [0].item;
    *key = self->entries [0].key;
    return true;
}

size_t
sq_heap_size (sq_heap_t *self)
{
    return self->size;
}

bool
sq_heap_contains (sq_heap_t *self, uint32_t item)
{
    return item < self->items && self->position [item] != NOWHERE;
}

size_t
sq_heap_bytes (sq_heap_t *self)
{
    return self ? sizeof (*self) + self->capacity * sizeof (entry_t)
                  + self->items * sizeof (size_t) : 0;
}
