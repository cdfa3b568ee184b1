/*  sq_metrics.c: being written (issue 12).  */
