/*  api.c: being written (issue 12).  */
