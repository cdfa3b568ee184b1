/*  store_views.c: being written (issue 12).  */
