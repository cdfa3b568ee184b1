/*  config_yaml.c: the YAML half of the config loader (see config_private.h).

    YAML is read with libyaml's event parser into a small tree of our own
    (node_t), every node with its mark, so that each rule in config.c can
    point at the exact spot.  We build our own tree rather than take
    libyaml's document API because that API resolves aliases silently; we
    refuse anchors and aliases instead, with their position (a config is
    short enough to write out, and an alias would make one mistake appear
    in many places).

    The whole file is parsed before any rule runs, so a YAML syntax error
    anywhere wins over a rule broken above it.
*/
#include "config_private.h"

#include <assert.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

//  Deepest YAML nesting we read; a valid config uses four levels.
#define NODE_DEPTH_MAX          16


//  --------------------------------------------------------------------------
//  The tree

//  YAML 1.2's core schema spells null as nothing, ~ or null in three cases.
bool
config_node_is_null (const node_t *node)
{
    if (node->kind != NODE_SCALAR || !node->plain)
        return false;
    const char *value = node->value;
    return !*value || strcmp (value, "~") == 0 || strcmp (value, "null") == 0
        || strcmp (value, "Null") == 0 || strcmp (value, "NULL") == 0;
}

//  A tree lives in an arena of its own: its nodes, texts and child arrays
//  are carved from chunks freed together with the root.  A node, its text
//  and its slot in a parent's array were three to four allocations each,
//  half a million for 100,000 sites (a tenth of a start).
#define S_CHUNK_SIZE    (64 * 1024)     //  the largest chunk
#define S_CHUNK_FIRST   1024            //  the smallest first chunk

typedef struct _node_chunk_t {
    struct _node_chunk_t *next;
    size_t used;                //  bytes of data taken
    size_t size;                //  bytes of data
    max_align_t data [];
} node_chunk_t;

struct _node_arena_t {
    node_chunk_t *chunks;       //  newest first
    size_t chunk_size;          //  the next chunk's, doubling up to S_CHUNK_SIZE
};

static void *
s_arena_alloc (struct _node_arena_t *arena, size_t size)
{
    size = (size + sizeof (max_align_t) - 1) / sizeof (max_align_t) * sizeof (max_align_t);
    node_chunk_t *chunk = arena->chunks;
    if (!chunk || chunk->size - chunk->used < size) {
        size_t data = size > arena->chunk_size ? size : arena->chunk_size;
        if (arena->chunk_size < S_CHUNK_SIZE)
            arena->chunk_size *= 2;
        chunk = (node_chunk_t *) malloc (sizeof (node_chunk_t) + data);
        assert (chunk);
        chunk->used = 0;
        chunk->size = data;
        chunk->next = arena->chunks;
        arena->chunks = chunk;
    }
    void *memory = (char *) chunk->data + chunk->used;
    chunk->used += size;
    return memory;
}

static void
s_arena_free (struct _node_arena_t **arena_p)
{
    struct _node_arena_t *arena = *arena_p;
    if (!arena)
        return;
    while (arena->chunks) {
        node_chunk_t *next = arena->chunks->next;
        free (arena->chunks);
        arena->chunks = next;
    }
    free (arena);
    *arena_p = NULL;
}

void
config_node_destroy (node_t **self_p)
{
    node_t *self = *self_p;
    if (!self)
        return;
    assert (self->arena);           //  a root
    struct _node_arena_t *arena = self->arena;
    s_arena_free (&arena);          //  the root with it
    *self_p = NULL;
}


//  --------------------------------------------------------------------------
//  Reading libyaml's events

//  Report libyaml's own error: its problem text and mark.
static int
s_yaml_error (config_source_t *source, const yaml_parser_t *parser)
{
    const char *problem = parser->problem ? parser->problem : "unknown error";
    if (parser->error == YAML_MEMORY_ERROR)
        return config_fail (source, (int) parser->mark.line + 1, (int) parser->mark.column + 1,
                            "out of memory reading YAML");
    if (parser->error == YAML_READER_ERROR) {
        int line, column;
        config_position (source, parser->problem_offset, &line, &column);
        if (parser->problem_value != -1)
            return config_fail (source, line, column, "invalid YAML: %s (byte 0x%02X)",
                                problem, (unsigned) parser->problem_value);
        return config_fail (source, line, column, "invalid YAML: %s", problem);
    }
    int line = (int) parser->problem_mark.line + 1;
    int column = (int) parser->problem_mark.column + 1;
    if (parser->context)
        return config_fail (source, line, column, "invalid YAML: %s (%s at line %d, column %d)",
                            problem, parser->context, (int) parser->context_mark.line + 1,
                            (int) parser->context_mark.column + 1);
    return config_fail (source, line, column, "invalid YAML: %s", problem);
}

static int
s_next_event (config_source_t *source, yaml_parser_t *parser, yaml_event_t *event)
{
    if (yaml_parser_parse (parser, event))
        return 0;
    return s_yaml_error (source, parser);
}

//  Build the node that starts with event, reading the events of its
//  children.  Takes event (deletes it).  NULL on error.
static node_t *
s_node_read (config_source_t *source, yaml_parser_t *parser, yaml_event_t *event, int depth,
             struct _node_arena_t *arena)
{
    node_t *node = (node_t *) s_arena_alloc (arena, sizeof (node_t));
    memset (node, 0, sizeof (node_t));
    node->line = (int) event->start_mark.line + 1;
    node->column = (int) event->start_mark.column + 1;
    const yaml_char_t *anchor = NULL;
    int rc = 0;
    if (event->type == YAML_ALIAS_EVENT)
        rc = config_fail (source, node->line, node->column,
                          "expected a value written out, got alias '*%s' "
                          "(anchors and aliases are not supported)",
                          (const char *) event->data.alias.anchor);
    else
    if (event->type == YAML_SCALAR_EVENT) {
        anchor = event->data.scalar.anchor;
        node->kind = NODE_SCALAR;
        node->plain = event->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
        node->value = (char *) s_arena_alloc (arena, event->data.scalar.length + 1);
        memcpy (node->value, event->data.scalar.value, event->data.scalar.length);
        node->value [event->data.scalar.length] = '\0';
        if (strlen (node->value) != event->data.scalar.length)
            rc = config_fail (source, node->line, node->column,
                              "expected text, got a NUL character");
    }
    else
    if (event->type == YAML_SEQUENCE_START_EVENT) {
        anchor = event->data.sequence_start.anchor;
        node->kind = NODE_LIST;
    }
    else
    if (event->type == YAML_MAPPING_START_EVENT) {
        anchor = event->data.mapping_start.anchor;
        node->kind = NODE_MAPPING;
    }
    else
        rc = config_fail (source, node->line, node->column, "invalid YAML: unexpected event %d",
                          (int) event->type);
    if (rc == 0 && anchor)
        rc = config_fail (source, node->line, node->column,
                          "expected a plain value, got anchor '&%s' "
                          "(anchors and aliases are not supported)", (const char *) anchor);
    if (rc == 0 && depth > NODE_DEPTH_MAX)
        rc = config_fail (source, node->line, node->column,
                          "expected at most %d levels of nesting, got more", NODE_DEPTH_MAX);
    yaml_event_delete (event);

    //  Children of a list or mapping, up to its end event.
    size_t capacity = 0;
    while (rc == 0 && node->kind != NODE_SCALAR) {
        yaml_event_t child;
        if (s_next_event (source, parser, &child)) {
            rc = -1;
            break;
        }
        if (child.type == YAML_SEQUENCE_END_EVENT || child.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete (&child);
            break;
        }
        if (node->count == capacity) {
            //  The old array stays in the arena: at most as much again.
            capacity = capacity ? capacity * 2 : 8;
            node_t **children = (node_t **) s_arena_alloc (arena, capacity * sizeof (node_t *));
            if (node->count)
                memcpy (children, node->children, node->count * sizeof (node_t *));
            node->children = children;
        }
        node->children [node->count] = s_node_read (source, parser, &child, depth + 1, arena);
        if (!node->children [node->count])
            rc = -1;
        else
            node->count++;
    }
    return rc ? NULL : node;        //  the arena goes with the whole tree
}

//  Stream start, document start, one node, document end, and then stream
//  end: a second document is an error.
node_t *
config_yaml_read (config_source_t *source)
{
    yaml_parser_t parser;
    if (!yaml_parser_initialize (&parser)) {
        config_fail (source, 1, 1, "out of memory reading YAML");
        return NULL;
    }
    yaml_parser_set_input_string (&parser, (const unsigned char *) source->text, source->size);
    struct _node_arena_t *arena = (struct _node_arena_t *) calloc (1, sizeof (*arena));
    assert (arena);
    //  A small document (an API site's body) takes a small first chunk:
    //  every API site's tree is alive at once while the config loads.
    arena->chunk_size = S_CHUNK_FIRST;
    while (arena->chunk_size < S_CHUNK_SIZE && arena->chunk_size < 4 * source->size)
        arena->chunk_size *= 2;
    node_t *root = NULL;
    yaml_event_t event;
    int rc = s_next_event (source, &parser, &event);
    if (rc == 0) {
        yaml_event_delete (&event);
        rc = s_next_event (source, &parser, &event);
    }
    if (rc == 0 && event.type == YAML_STREAM_END_EVENT) {
        rc = config_fail (source, (int) event.start_mark.line + 1,
                          (int) event.start_mark.column + 1,
                          "expected a YAML mapping with sites, or a list of URLs, got no content");
        yaml_event_delete (&event);
    }
    else
    if (rc == 0) {
        yaml_event_delete (&event);
        rc = s_next_event (source, &parser, &event);
        if (rc == 0) {
            root = s_node_read (source, &parser, &event, 1, arena);
            rc = root ? 0 : -1;
            if (root)
                root->arena = arena;
        }
        if (rc == 0)
            rc = s_next_event (source, &parser, &event);
        if (rc == 0) {
            yaml_event_delete (&event);         //  document end
            rc = s_next_event (source, &parser, &event);
        }
        if (rc == 0) {
            if (event.type == YAML_DOCUMENT_START_EVENT)
                rc = config_fail (source, (int) event.start_mark.line + 1,
                                  (int) event.start_mark.column + 1,
                                  "expected one YAML document, got a second one");
            yaml_event_delete (&event);
        }
    }
    yaml_parser_delete (&parser);
    if (rc || !root) {
        s_arena_free (&arena);
        root = NULL;
    }
    return root;
}
