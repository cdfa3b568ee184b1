/*  config_private.h: what the two halves of the config loader share, and
    nothing else: config.c (the rules, the plain list format, the messages
    and the public API) and config_yaml.c (libyaml's events read into a
    small tree of our own).  Not for use outside cli/config*.c.

    The YAML half sees only the text being loaded and the way to report a
    mistake in it (config_source_t); it knows nothing of the rules.  The
    rules see only the tree it hands back.
*/
#ifndef CONFIG_PRIVATE_H_INCLUDED
#define CONFIG_PRIVATE_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

//  The text being loaded, and the caller's buffer for its first mistake.
typedef struct {
    const char *path;           //  file name, for messages
    const char *text;           //  the whole file
    size_t size;                //  its bytes
    char *error;                //  caller's message buffer
    size_t error_size;          //  its size
    bool failed;                //  a message is in error; later ones are dropped
} config_source_t;

//  Record the first mistake as "FILE:LINE:COLUMN: message"; later ones are
//  dropped.  Returns -1.  (config.c)
int config_fail (config_source_t *source, int line, int column, const char *format, ...)
    __attribute__ ((format (printf, 4, 5)));

//  Line and column (1-based, in characters) of a byte offset in the text.
//  (config.c)
void config_position (const config_source_t *source, size_t offset, int *line, int *column);

//  A YAML node as we keep it.
typedef enum {
    NODE_SCALAR,                //  text; plain ones may be null
    NODE_LIST,                  //  YAML sequence
    NODE_MAPPING                //  YAML mapping
} node_kind_t;

typedef struct _node_t node_t;
struct _node_t {
    node_kind_t kind;           //  scalar, list or mapping
    char *value;                //  scalar text, NUL-terminated; NULL otherwise
    bool plain;                 //  scalar written without quotes
    int line;                   //  1-based line of the node's first character
    int column;                 //  1-based column of it
    node_t **children;          //  list items, or mapping key, value, key, value...
    size_t count;               //  entries in children
};

//  Parse the whole text as one YAML document into a tree, the caller's to
//  destroy.  NULL on error, reported through config_fail.  (config_yaml.c)
node_t *config_yaml_read (config_source_t *source);

//  Destroy a tree; safe on NULL, nulls the caller's pointer.  (config_yaml.c)
void config_node_destroy (node_t **self_p);

//  Is node a YAML null: a plain scalar that is empty, "~" or "null"?
//  (config_yaml.c)
bool config_node_is_null (const node_t *node);

#endif
