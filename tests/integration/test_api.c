/*  Being written (issues 11 and 12): fails until it tests something.  */
#include <stdio.h>
int
main (void)
{
    fprintf (stderr, "not written yet\n");
    return 1;
}
