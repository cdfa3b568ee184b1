/*  test_heap.c: the schedule's min-heap against a brute-force model. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include "sq_heap.h"

#define ITEMS 2000

static void
test_heap_matches_model (void **state)
{
    sq_heap_t *heap = sq_heap_new ();
    assert_non_null (heap);
    static int64_t model [ITEMS];       //  key, or -1 when absent
    for (size_t index = 0; index < ITEMS; index++)
        model [index] = -1;
    srandom (7);
    for (int round = 0; round < 200000; round++) {
        uint32_t item = (uint32_t) (random () % ITEMS);
        int action = (int) (random () % 10);
        if (action < 6) {
            int64_t key = random () % 100000;
            assert_int_equal (sq_heap_set (heap, item, key), 0);
            model [item] = key;
        }
        else
        if (action < 8) {
            sq_heap_remove (heap, item);
            model [item] = -1;
        }
        else {
            //  Pop the smallest, as the dispatcher does.
            uint32_t top;
            int64_t key;
            int64_t smallest = -1;
            size_t present = 0;
            for (size_t index = 0; index < ITEMS; index++) {
                if (model [index] < 0)
                    continue;
                present++;
                if (smallest < 0 || model [index] < smallest)
                    smallest = model [index];
            }
            assert_int_equal (sq_heap_size (heap), present);
            if (!present) {
                assert_false (sq_heap_peek (heap, &top, &key));
                continue;
            }
            assert_true (sq_heap_peek (heap, &top, &key));
            assert_int_equal (key, smallest);
            assert_int_equal (model [top], smallest);
            sq_heap_remove (heap, top);
            model [top] = -1;
            assert_false (sq_heap_contains (heap, top));
        }
    }
    sq_heap_destroy (&heap);
    assert_null (heap);
    sq_heap_destroy (&heap);
}

int
main (void)
{
    const struct CMUnitTest tests [] = {
        cmocka_unit_test (test_heap_matches_model),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
