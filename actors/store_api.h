/*  store_api.h: what the HTTP API keeps and reads in the store.

    The sites added through the API live in their own table, api_site: the
    URL in normal form (the key) and the JSON body as the API last accepted
    it, so that `run` loads them after the config file's at every start
    and reload.  The rest are read-only queries for /api/v1 over the
    tables the store writer fills.  Each function takes a store_t opened
    by the caller (store_open) and is synchronous.
*/
#ifndef STORE_API_H_INCLUDED
#define STORE_API_H_INCLUDED

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Call callback (url, body) per API site, oldest first.  Returns the
//  number of sites, or -1 (logged).  A store without the table has none.
int store_api_sites (store_t *self, void (*callback) (const char *url, const char *body,
                                                      void *arg), void *arg);

//  Insert or replace the API site with url (normal form).  0, or -1 with
//  the reason in error.
int store_api_site_put (store_t *self, const char *url, const char *body, char *error,
                        size_t error_size);

//  Forget the API site with url.  1 if it was there, 0 if not, -1 on error.
int store_api_site_delete (store_t *self, const char *url, char *error, size_t error_size);

//  Is site_id a site of the running config (active)?  False on an error.
bool store_site_active (store_t *self, uint64_t site_id);

//  One raw result as the API shows it.
typedef struct {
    int64_t at_us;              //  when it was checked, unix µs
    bool up;                    //  the verdict
    sq_reason_t reason;         //  why
    unsigned http_status;       //  0 none
    sq_method_t method;         //  the request that decided
    const char *pinger;         //  who checked (borrowed for the callback's duration)
    const char *region;         //  its region, "" none (borrowed)
    int64_t queue_us, dns_us, connect_us, tls_us, ttfb_us, total_us;   //  phases
    int64_t cert_expiry;        //  unix seconds, 0 none
    const char *error;          //  libcurl's words, "" none (borrowed)
} store_result_t;

//  Results of site_id with at_us > since_us, newest first, at most limit.
//  Returns the number, or -1.
int store_results (store_t *self, uint64_t site_id, int64_t since_us, size_t limit,
                   void (*callback) (const store_result_t *row, void *arg), void *arg);

//  One incident of any site, for /api/v1/incidents.
typedef struct {
    uint64_t id;                //  incident id
    uint64_t site_id;           //  whose
    const char *url;            //  the site's URL (borrowed; the caller shows it elided)
    int64_t start_us;           //  went down, unix µs
    int64_t end_us;             //  came back, unix µs; 0 while still open
    sq_reason_t reason;         //  the deciding check's reason
    const char *detail;         //  borrowed
} store_any_incident_t;

//  Incidents open, or ended after since_us, newest first, at most limit.
//  Returns the number, or -1.
int store_all_incidents (store_t *self, int64_t since_us, size_t limit,
                         void (*callback) (const store_any_incident_t *row, void *arg),
                         void *arg);

//  Every site's stored state, by id ascending (site_id, state, since_us),
//  for a collector taking a long list: one statement, not one per site.
typedef struct {
    uint64_t site_id;
    sq_state_t state;
    int64_t since_us;
} store_site_state_t;

//  The states in *states (the caller frees), *count of them.  0, or -1.
int store_site_states (store_t *self, store_site_state_t **states, size_t *count);

//  The entry for site_id in states (sorted by id), or NULL.
const store_site_state_t *store_site_state_find (const store_site_state_t *states,
                                                 size_t count, uint64_t site_id);

#ifdef __cplusplus
}
#endif

#endif
