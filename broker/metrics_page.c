/*  metrics_page.c: being written (issue 12).  */
