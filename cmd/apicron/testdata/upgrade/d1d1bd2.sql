PRAGMA foreign_keys=OFF;
BEGIN TRANSACTION;
CREATE TABLE schema_migrations (
	version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);
INSERT INTO schema_migrations VALUES(1,1796189357193);
INSERT INTO schema_migrations VALUES(2,1796189357196);
INSERT INTO schema_migrations VALUES(3,1796189357197);
INSERT INTO schema_migrations VALUES(4,1796189357198);
INSERT INTO schema_migrations VALUES(5,1796189357199);
INSERT INTO schema_migrations VALUES(6,1796189357199);
INSERT INTO schema_migrations VALUES(7,1796189357200);
INSERT INTO schema_migrations VALUES(8,1796189357200);
INSERT INTO schema_migrations VALUES(9,1796189357201);
INSERT INTO schema_migrations VALUES(10,1796189357202);
INSERT INTO schema_migrations VALUES(11,1796189357203);
INSERT INTO schema_migrations VALUES(12,1796189357208);
INSERT INTO schema_migrations VALUES(13,1796189357208);
INSERT INTO schema_migrations VALUES(14,1796189357210);
INSERT INTO schema_migrations VALUES(15,1796189357211);
INSERT INTO schema_migrations VALUES(16,1796189357211);
INSERT INTO schema_migrations VALUES(17,1796189357212);
INSERT INTO schema_migrations VALUES(18,1796189357214);
INSERT INTO schema_migrations VALUES(19,1796189357214);
INSERT INTO schema_migrations VALUES(20,1796189357216);
INSERT INTO schema_migrations VALUES(21,1796189357216);
INSERT INTO schema_migrations VALUES(22,1796189357217);
INSERT INTO schema_migrations VALUES(23,1796189357220);
INSERT INTO schema_migrations VALUES(24,1796189357224);
INSERT INTO schema_migrations VALUES(25,1796189357225);
CREATE TABLE targets (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT    NOT NULL,
    url             TEXT    NOT NULL,
    method          TEXT    NOT NULL,
    headers         TEXT    NOT NULL DEFAULT '{}',
    body_template   TEXT    NOT NULL DEFAULT '',
    timeout_seconds REAL,
    max_retries     INTEGER,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
, secret_headers TEXT NOT NULL DEFAULT '[]', allow_insecure_redirects INTEGER NOT NULL DEFAULT 0, assertions TEXT NOT NULL DEFAULT '', signing_secrets TEXT NOT NULL DEFAULT '', retry_on TEXT, retry_backoff_ms INTEGER, retry_max_backoff_ms INTEGER, oauth2 TEXT NOT NULL DEFAULT '', client_cert TEXT NOT NULL DEFAULT '', rate_per_second REAL, rate_burst INTEGER);
INSERT INTO targets VALUES(1,'fixture-ok','http://127.0.0.1:35787/status/200','GET','{"X-Api-Key":"enc:v1:qu54JsBwnZjHMx+zGcs0WjcQ5zv8/ABdFxoxt/FtUUltJbSqepnoBAIqDaj6","X-Fixture-Token":"enc:v1:pM55nN5/z7D4Q+A9/qp9/RMcNKq0al6mXSqgpInYUeOtQwnV7Q8p6gWMrqUMrINrmg==","X-Plain":"plain-value"}','',NULL,0,1796189357330,1796189357330,'["X-Fixture-Token"]',0,'','["enc:v1:8FK5Gvv+QVteXPd6lnmbx8CZeh7ipvnbAbNCy3CmQadHsjTNJyw2mPG3KZpUmJUhDajGJ0PtGatwCOQ6ipm0USgQ3d9VykoQHLsDMtMl"]',NULL,NULL,NULL,'','',NULL,NULL);
INSERT INTO targets VALUES(2,'fixture-basic','http://127.0.0.1:35787/status/200','GET','{"Authorization":"enc:v1:Cconc81USGCIVv5qVRYPUA219C0lOD/neFIokEG7utRI8x1FBF0wg8aNZOUjHXvFhrYf5Rypl0vVpD9nQWn2a3vBY4hwkcO8FN8="}','',NULL,0,1796189357409,1796189357409,'[]',0,'','',NULL,NULL,NULL,'','',NULL,NULL);
INSERT INTO targets VALUES(3,'fixture-fail','http://127.0.0.1:35787/status/500','GET','{"Authorization":"enc:v1:31Mb1ktcRVyi21cjHz7UWM8TLeUGdfZj5VyTLf7m9r1EzVhzAbCPuAcYhhMEcF+bnWYTcpaRjw=="}','',NULL,0,1796189357489,1796189357489,'[]',0,'','',NULL,NULL,NULL,'','',NULL,NULL);
INSERT INTO targets VALUES(4,'fixture-slow','http://127.0.0.1:35787/delay/1500','GET','{"X-Api-Key":"enc:v1:QIy0jcq/LdgtpVA1Vg0a9fCWu/sBo5JBw/p0RjoY4fX7thlJqJ4YCRRrP/+7+wyt"}','',10.0,0,1796189357580,1796189357580,'[]',0,'','',NULL,NULL,NULL,'','',NULL,NULL);
CREATE TABLE schedules (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    name             TEXT    NOT NULL,
    target_id        BIGINT  NOT NULL REFERENCES targets (id),
    schedule_type    TEXT    NOT NULL,
    interval_seconds BIGINT  NOT NULL,
    duration_seconds BIGINT,
    status           TEXT    NOT NULL,
    stopped_reason   TEXT    NOT NULL DEFAULT '',
    anchor_at        BIGINT  NOT NULL,
    next_run_at      BIGINT,
    ends_at          BIGINT,
    remaining_ms     BIGINT,
    version          BIGINT  NOT NULL DEFAULT 1,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL
, keep_runs BIGINT, runs_gone BIGINT NOT NULL DEFAULT 0, cron_expression TEXT NOT NULL DEFAULT '', timezone TEXT NOT NULL DEFAULT 'UTC', run_at BIGINT, start_at BIGINT, end_at BIGINT, max_runs BIGINT, run_count BIGINT NOT NULL DEFAULT 0, jitter_seconds INTEGER NOT NULL DEFAULT 0, misfire_grace_seconds INTEGER, pause_reason TEXT NOT NULL DEFAULT '', paused_until BIGINT, overlap_policy TEXT NOT NULL DEFAULT 'skip', max_parallel INTEGER, misfire_policy TEXT NOT NULL DEFAULT 'coalesce', catch_up_max INTEGER, assertions TEXT, alert TEXT, auto_pause_after INTEGER);
INSERT INTO schedules VALUES(1,'interval',1,'INTERVAL',2,NULL,'ACTIVE','',1796189357668,1796189375668,NULL,NULL,1,1796189357668,1796189357668,NULL,0,'','UTC',NULL,NULL,NULL,NULL,9,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(2,'cron-tz',2,'CRON',0,NULL,'ACTIVE','',1796189357768,1796189376000,NULL,NULL,1,1796189357768,1796189357768,NULL,0,'*/2 * * * * *','America/New_York',NULL,NULL,NULL,NULL,9,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(3,'cron-daily',1,'CRON',0,NULL,'ACTIVE','',1796189357863,1796257800000,NULL,NULL,1,1796189357863,1796189357863,NULL,0,'30 9 * * *','Asia/Tokyo',NULL,NULL,NULL,NULL,0,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(4,'once-ran',1,'ONCE',0,NULL,'STOPPED','ran_once',1796189357952,NULL,NULL,NULL,2,1796189357952,1796189359975,NULL,0,'','UTC',1796189360000,NULL,NULL,NULL,1,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(5,'window',1,'WINDOW',1,4,'STOPPED','window_elapsed',1796189358052,NULL,1796189362052,NULL,2,1796189358052,1796189362027,NULL,0,'','UTC',NULL,NULL,NULL,NULL,4,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(6,'bounded',1,'INTERVAL',3,NULL,'ACTIVE','',1796189360000,1796189375000,NULL,NULL,1,1796189358142,1796189358142,NULL,0,'','UTC',NULL,1796189360000,4070908800000,NULL,5,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(7,'bounded-ended',1,'INTERVAL',2,NULL,'ACTIVE','',1796189358224,1796189374224,NULL,NULL,1,1796189358224,1796189358224,NULL,0,'','UTC',NULL,NULL,1796189418000,NULL,8,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(8,'max-runs',1,'INTERVAL',1,NULL,'STOPPED','max_runs_reached',1796189358295,NULL,NULL,NULL,2,1796189358295,1796189360270,NULL,0,'','UTC',NULL,NULL,NULL,3,3,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(9,'max-runs-open',1,'INTERVAL',2,NULL,'ACTIVE','',1796189358366,1796189374366,NULL,NULL,1,1796189358366,1796189358366,NULL,0,'','UTC',NULL,NULL,NULL,1000000,8,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(10,'paused',1,'INTERVAL',1,NULL,'PAUSED','',1796189358436,NULL,NULL,NULL,2,1796189358436,1796189363128,NULL,0,'','UTC',NULL,NULL,NULL,NULL,5,0,NULL,'paused in the fixture',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(11,'jitter',1,'INTERVAL',3,NULL,'ACTIVE','',1796189358516,1796189373516,NULL,NULL,1,1796189358516,1796189358516,NULL,0,'','UTC',NULL,NULL,NULL,NULL,5,2,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(12,'failing',3,'INTERVAL',2,NULL,'ACTIVE','',1796189358592,1796189374592,NULL,NULL,1,1796189358592,1796189358592,NULL,0,'','UTC',NULL,NULL,NULL,NULL,8,0,NULL,'',NULL,'skip',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(13,'overlap-buffer-one',4,'INTERVAL',1,NULL,'ACTIVE','',1796189358665,1796189374665,NULL,NULL,1,1796189358665,1796189358665,NULL,0,'','UTC',NULL,NULL,NULL,NULL,11,0,NULL,'',NULL,'buffer_one',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(14,'overlap-allow',4,'INTERVAL',1,NULL,'ACTIVE','',1796189358751,1796189374751,NULL,NULL,1,1796189358751,1796189358751,NULL,0,'','UTC',NULL,NULL,NULL,NULL,16,0,NULL,'',NULL,'allow',2,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(15,'overlap-replace',4,'INTERVAL',1,NULL,'ACTIVE','',1796189358849,1796189374849,NULL,NULL,1,1796189358849,1796189358849,NULL,0,'','UTC',NULL,NULL,NULL,NULL,16,0,NULL,'',NULL,'replace',NULL,'coalesce',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(16,'misfire-skip',1,'INTERVAL',2,NULL,'ACTIVE','',1796189358943,1796189374943,NULL,NULL,1,1796189358943,1796189358943,NULL,0,'','UTC',NULL,NULL,NULL,NULL,8,0,NULL,'',NULL,'skip',NULL,'skip',NULL,NULL,NULL,NULL);
INSERT INTO schedules VALUES(17,'misfire-catch-up',1,'INTERVAL',2,NULL,'ACTIVE','',1796189359041,1796189375041,NULL,NULL,1,1796189359041,1796189359041,NULL,0,'','UTC',NULL,NULL,NULL,NULL,8,0,NULL,'',NULL,'skip',NULL,'catch_up',3,NULL,NULL,NULL);
CREATE TABLE runs (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id      BIGINT  NOT NULL,
    target_id        BIGINT  NOT NULL,
    status           TEXT    NOT NULL,
    scheduled_at     BIGINT  NOT NULL,
    started_at       BIGINT  NOT NULL,
    finished_at      BIGINT,
    missed           BIGINT  NOT NULL DEFAULT 0,
    latency_ms       REAL,
    status_code      INTEGER,
    response_size    BIGINT,
    error_type       TEXT    NOT NULL DEFAULT '',
    error_message    TEXT    NOT NULL DEFAULT '',
    dns_ms           REAL,
    connect_ms       REAL,
    tls_ms           REAL,
    first_byte_ms    REAL,
    request_method   TEXT    NOT NULL DEFAULT '',
    request_url      TEXT    NOT NULL DEFAULT '',
    response_body    TEXT,
    response_headers TEXT,
    node_id          TEXT    NOT NULL DEFAULT '', job TEXT, attempt_in_run INTEGER NOT NULL DEFAULT 0, run_trigger TEXT NOT NULL DEFAULT 'schedule', jitter_ms BIGINT NOT NULL DEFAULT 0, failed_assertion TEXT NOT NULL DEFAULT '', waited_ms BIGINT NOT NULL DEFAULT 0, request_headers TEXT,
    UNIQUE (schedule_id, scheduled_at)
);
INSERT INTO runs VALUES(1,1,1,'SUCCESS',1796189357668,1796189357673,1796189357675,0,1.6127240000000000463,200,20,'','',NULL,0.56403800000000003933,NULL,1.3993640000000000522,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:17 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(2,2,2,'SUCCESS',1796189358000,1796189358000,1796189358001,0,0.68319099999999999273,200,20,'','',NULL,NULL,NULL,0.58304299999999997794,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(3,5,1,'SUCCESS',1796189358052,1796189358054,1796189358054,0,0.49541899999999999826,200,20,'','',NULL,NULL,NULL,0.42859399999999997499,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(4,7,1,'SUCCESS',1796189358224,1796189358227,1796189358228,0,1.2021139999999999048,200,20,'','',NULL,NULL,NULL,1.1421019999999999505,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(5,8,1,'SUCCESS',1796189358295,1796189358296,1796189358297,0,1.2372799999999999354,200,20,'','',NULL,NULL,NULL,1.079703999999999997,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(6,9,1,'SUCCESS',1796189358366,1796189358367,1796189358369,0,1.5681009999999999671,200,20,'','',NULL,NULL,NULL,1.517555999999999905,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(7,10,1,'SUCCESS',1796189358436,1796189358437,1796189358439,0,1.5266530000000000377,200,20,'','',NULL,NULL,NULL,1.4751160000000000938,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(8,12,3,'FAILED',1796189358592,1796189358594,1796189358594,0,0.34847400000000000597,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.3231760000000000188,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(9,13,4,'SUCCESS',1796189358665,1796189358666,1796189360169,0,1502.4777540000000044,200,25,'','',NULL,NULL,NULL,1502.3708839999999327,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(10,14,4,'SUCCESS',1796189358751,1796189358754,1796189360256,0,1502.3406079999999747,200,25,'','',NULL,0.22520299999999998652,NULL,1502.1079409999999825,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(11,15,4,'INTERRUPTED',1796189358849,1796189358850,1796189359825,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(12,16,1,'SUCCESS',1796189358943,1796189358945,1796189358946,0,0.93164599999999997415,200,20,'','',NULL,0.16133300000000000418,NULL,0.86797699999999999853,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:18 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(13,5,1,'SUCCESS',1796189359052,1796189359052,1796189359053,0,0.65994799999999997908,200,20,'','',NULL,NULL,NULL,0.59684899999999996289,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(14,17,1,'SUCCESS',1796189359041,1796189359042,1796189359044,0,1.2819739999999999469,200,20,'','',NULL,NULL,NULL,1.21140099999999995,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(15,8,1,'SUCCESS',1796189359295,1796189359295,1796189359296,0,0.63171399999999999774,200,20,'','',NULL,NULL,NULL,0.56231399999999998051,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(16,10,1,'SUCCESS',1796189359436,1796189359436,1796189359437,0,0.63347799999999998554,200,20,'','',NULL,NULL,NULL,0.56592100000000000736,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(17,11,1,'SUCCESS',1796189358516,1796189359420,1796189359420,0,0.5855979999999999519,200,20,'','',NULL,NULL,NULL,0.47000100000000000211,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',904,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(18,1,1,'SUCCESS',1796189359668,1796189359668,1796189359670,0,1.3968789999999999817,200,20,'','',NULL,NULL,NULL,0.76496399999999997731,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:19 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(19,14,4,'SUCCESS',1796189359751,1796189359752,1796189361253,0,1501.4987989999999626,200,25,'','',NULL,NULL,NULL,1501.4480340000000068,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(20,15,4,'INTERRUPTED',1796189359849,1796189359849,1796189360824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(21,2,2,'SUCCESS',1796189360000,1796189360001,1796189360004,0,3.0161760000000001902,200,20,'','',NULL,0.51726000000000005307,NULL,2.9928319999999999367,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(22,4,1,'SUCCESS',1796189360000,1796189360002,1796189360004,0,1.7765219999999999345,200,20,'','',NULL,0.1220490000000000047,NULL,1.7128719999999999501,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(23,6,1,'SUCCESS',1796189360000,1796189360000,1796189360004,0,3.5697540000000000937,200,20,'','',NULL,1.9898119999999999141,NULL,3.5516200000000002212,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(24,5,1,'SUCCESS',1796189360052,1796189360052,1796189360053,0,1.4565319999999999378,200,20,'','',NULL,NULL,NULL,1.3710409999999999541,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(25,13,4,'SUCCESS',1796189359665,1796189360170,1796189361672,0,1501.3443689999999151,200,25,'','',NULL,NULL,NULL,1501.3040430000000924,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(26,7,1,'SUCCESS',1796189360224,1796189360224,1796189360224,0,0.73053000000000001268,200,20,'','',NULL,NULL,NULL,0.62183699999999997309,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(27,8,1,'SUCCESS',1796189360295,1796189360295,1796189360296,0,0.82357400000000002826,200,20,'','',NULL,NULL,NULL,0.7240779999999999994,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(28,9,1,'SUCCESS',1796189360366,1796189360367,1796189360367,0,0.70948100000000002829,200,20,'','',NULL,NULL,NULL,0.61637600000000003497,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(29,10,1,'SUCCESS',1796189360436,1796189360436,1796189360437,0,0.78620400000000001394,200,20,'','',NULL,NULL,NULL,0.68689800000000000856,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(30,12,3,'FAILED',1796189360592,1796189360592,1796189360593,0,0.93549400000000004773,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.72064099999999997603,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(31,14,4,'SUCCESS',1796189360751,1796189360751,1796189362252,0,1500.9086319999998977,200,25,'','',NULL,NULL,NULL,1500.7776570000000901,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(32,15,4,'INTERRUPTED',1796189360849,1796189360849,1796189361824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(33,16,1,'SUCCESS',1796189360943,1796189360943,1796189360943,0,0.49585000000000001296,200,20,'','',NULL,NULL,NULL,0.40949799999999997313,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:20 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(34,5,1,'SUCCESS',1796189361052,1796189361052,1796189361052,0,0.5289009999999999545,200,20,'','',NULL,NULL,NULL,0.48495899999999997342,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(35,17,1,'SUCCESS',1796189361041,1796189361042,1796189361042,0,0.73538899999999995937,200,20,'','',NULL,NULL,NULL,0.57626100000000002321,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(36,10,1,'SUCCESS',1796189361436,1796189361437,1796189361437,0,0.53847999999999995868,200,20,'','',NULL,NULL,NULL,0.45455299999999998483,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(37,1,1,'SUCCESS',1796189361668,1796189361668,1796189361668,0,0.47592200000000001169,200,20,'','',NULL,NULL,NULL,0.39582200000000000716,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:21 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(38,13,4,'SUCCESS',1796189361665,1796189361673,1796189363174,1,1501.6812709999999242,200,25,'','',NULL,NULL,NULL,1501.5973140000000966,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:23 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(39,14,4,'SUCCESS',1796189361751,1796189361751,1796189363253,0,1501.4332660000000032,200,25,'','',NULL,NULL,NULL,1501.1932560000000193,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:23 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(40,15,4,'INTERRUPTED',1796189361849,1796189361849,1796189362825,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(41,2,2,'SUCCESS',1796189362000,1796189362000,1796189362001,0,0.75234100000000003749,200,20,'','',NULL,NULL,NULL,0.58549799999999996291,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(42,7,1,'SUCCESS',1796189362224,1796189362224,1796189362224,0,0.52781000000000000138,200,20,'','',NULL,NULL,NULL,0.44817099999999998605,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(43,9,1,'SUCCESS',1796189362366,1796189362366,1796189362367,0,0.6646969999999999823,200,20,'','',NULL,NULL,NULL,0.557985999999999982,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(44,10,1,'SUCCESS',1796189362436,1796189362436,1796189362437,0,0.51358300000000001173,200,20,'','',NULL,NULL,NULL,0.43462499999999998356,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(45,12,3,'FAILED',1796189362592,1796189362592,1796189362593,0,0.70957000000000003403,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.65393599999999996175,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(46,14,4,'SUCCESS',1796189362751,1796189362751,1796189364252,0,1501.0578020000000378,200,25,'','',NULL,NULL,NULL,1500.959047000000055,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(47,15,4,'INTERRUPTED',1796189362849,1796189362849,1796189363824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(48,11,1,'SUCCESS',1796189361516,1796189362878,1796189362879,0,1.3209370000000000278,200,20,'','',NULL,0.54782699999999995288,NULL,1.2225630000000000663,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',1362,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(49,16,1,'SUCCESS',1796189362943,1796189362943,1796189362944,0,0.70343900000000003647,200,20,'','',NULL,NULL,NULL,0.57613999999999998546,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:22 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(50,6,1,'SUCCESS',1796189363000,1796189363000,1796189363001,0,0.73905600000000004623,200,20,'','',NULL,NULL,NULL,0.62708600000000003227,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:23 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(51,17,1,'SUCCESS',1796189363041,1796189363041,1796189363042,0,0.89789399999999996992,200,20,'','',NULL,NULL,NULL,0.7021669999999999856,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:23 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(52,13,4,'SUCCESS',1796189362665,1796189363176,1796189364677,0,1501.1035079999999197,200,25,'','',NULL,NULL,NULL,1500.9820999999999457,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(53,1,1,'SUCCESS',1796189363668,1796189363668,1796189363669,0,0.85902100000000003454,200,20,'','',NULL,NULL,NULL,0.71057199999999998141,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:23 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(54,14,4,'SUCCESS',1796189363751,1796189363752,1796189365253,0,1501.4616699999999128,200,25,'','',NULL,NULL,NULL,1501.3679540000000543,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:25 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(55,15,4,'INTERRUPTED',1796189363849,1796189363849,1796189364824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(56,2,2,'SUCCESS',1796189364000,1796189364001,1796189364002,0,0.86910900000000002041,200,20,'','',NULL,0.17749300000000001187,NULL,0.77387099999999997557,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(57,7,1,'SUCCESS',1796189364224,1796189364224,1796189364225,0,0.5038749999999999618,200,20,'','',NULL,NULL,NULL,0.46105499999999999261,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(58,9,1,'SUCCESS',1796189364366,1796189364366,1796189364367,0,0.62578400000000000691,200,20,'','',NULL,NULL,NULL,0.51003699999999996261,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(59,12,3,'FAILED',1796189364592,1796189364592,1796189364593,0,0.69082500000000002238,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.60241900000000003778,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(60,13,4,'SUCCESS',1796189364665,1796189364678,1796189366180,1,1501.4360610000001088,200,25,'','',NULL,NULL,NULL,1501.3244720000000143,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(61,14,4,'SUCCESS',1796189364751,1796189364751,1796189366253,0,1501.4498670000000401,200,25,'','',NULL,NULL,NULL,1501.3226290000000062,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(62,15,4,'INTERRUPTED',1796189364849,1796189364849,1796189365824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(63,16,1,'SUCCESS',1796189364943,1796189364943,1796189364944,0,0.87171500000000001762,200,20,'','',NULL,0.21742800000000001015,NULL,0.80350699999999997125,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:24 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(64,17,1,'SUCCESS',1796189365041,1796189365041,1796189365042,0,0.98936599999999996768,200,20,'','',NULL,NULL,NULL,0.90363499999999996603,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:25 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(65,1,1,'SUCCESS',1796189365668,1796189365668,1796189365669,0,0.60318099999999996718,200,20,'','',NULL,NULL,NULL,0.5499519999999999964,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:25 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(66,14,4,'SUCCESS',1796189365751,1796189365751,1796189367252,0,1501.4329359999999269,200,25,'','',NULL,NULL,NULL,1501.2697200000000066,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:27 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(67,15,4,'INTERRUPTED',1796189365849,1796189365849,1796189366825,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(68,2,2,'SUCCESS',1796189366000,1796189366001,1796189366001,0,0.55075300000000004807,200,20,'','',NULL,NULL,NULL,0.49799399999999999222,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(69,6,1,'SUCCESS',1796189366000,1796189366000,1796189366001,0,0.8580079999999999929,200,20,'','',NULL,0.24441899999999999737,NULL,0.80738299999999996181,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(70,7,1,'SUCCESS',1796189366224,1796189366224,1796189366225,0,0.796875,200,20,'','',NULL,NULL,NULL,0.68449400000000004684,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(71,13,4,'SUCCESS',1796189365665,1796189366181,1796189367682,0,1500.737532000000101,200,25,'','',NULL,NULL,NULL,1500.6364519999999629,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:27 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(72,11,1,'SUCCESS',1796189364516,1796189366289,1796189366290,0,0.71054200000000000692,200,20,'','',NULL,NULL,NULL,0.64039100000000004353,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',1773,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(73,9,1,'SUCCESS',1796189366366,1796189366366,1796189366367,0,0.67916299999999996117,200,20,'','',NULL,NULL,NULL,0.60630700000000004035,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(74,12,3,'FAILED',1796189366592,1796189366593,1796189366593,0,0.61789899999999997604,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.55556200000000000027,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(75,14,4,'SUCCESS',1796189366751,1796189366751,1796189368252,0,1501.3777019999999993,200,25,'','',NULL,NULL,NULL,1501.2627760000000307,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(76,15,4,'INTERRUPTED',1796189366849,1796189366849,1796189367824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(77,16,1,'SUCCESS',1796189366943,1796189366943,1796189366944,0,0.76989300000000004953,200,20,'','',NULL,NULL,NULL,0.7018760000000000554,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:26 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(78,17,1,'SUCCESS',1796189367041,1796189367041,1796189367042,0,0.69220800000000004548,200,20,'','',NULL,NULL,NULL,0.58310399999999995568,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:27 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(79,1,1,'SUCCESS',1796189367668,1796189367668,1796189367669,0,0.59085799999999999432,200,20,'','',NULL,NULL,NULL,0.52530500000000002192,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:27 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(80,13,4,'SUCCESS',1796189367665,1796189367683,1796189369185,1,1501.3822500000001127,200,25,'','',NULL,NULL,NULL,1501.245192999999972,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:29 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(81,14,4,'SUCCESS',1796189367751,1796189367751,1796189369252,0,1501.1654240000000299,200,25,'','',NULL,NULL,NULL,1501.0602969999999913,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:29 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(82,15,4,'INTERRUPTED',1796189367849,1796189367849,1796189368824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(83,2,2,'SUCCESS',1796189368000,1796189368000,1796189368001,0,0.79183499999999995555,200,20,'','',NULL,0.25026900000000001922,NULL,0.72555099999999994597,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(84,7,1,'SUCCESS',1796189368224,1796189368224,1796189368224,0,0.74770199999999997775,200,20,'','',NULL,NULL,NULL,0.66927499999999995328,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(85,9,1,'SUCCESS',1796189368366,1796189368366,1796189368367,0,0.66728100000000001301,200,20,'','',NULL,NULL,NULL,0.58068900000000001071,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(86,12,3,'FAILED',1796189368592,1796189368592,1796189368593,0,0.69115599999999999258,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.6079499999999999904,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(87,14,4,'SUCCESS',1796189368751,1796189368751,1796189370252,0,1501.0800930000000334,200,25,'','',NULL,NULL,NULL,1500.9499590000000353,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(88,15,4,'INTERRUPTED',1796189368849,1796189368849,1796189369824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(89,16,1,'SUCCESS',1796189368943,1796189368944,1796189368945,0,1.0051250000000000461,200,20,'','',NULL,0.33227299999999998503,NULL,0.89952699999999996549,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(90,6,1,'SUCCESS',1796189369000,1796189369000,1796189369000,0,0.56817600000000001436,200,20,'','',NULL,NULL,NULL,0.48964800000000002766,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:29 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(91,11,1,'SUCCESS',1796189367516,1796189368992,1796189368992,0,0.71855800000000003002,200,20,'','',NULL,NULL,NULL,0.64575099999999996391,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:28 GMT"}','vm-25328',NULL,1,'schedule',1476,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(92,17,1,'SUCCESS',1796189369041,1796189369041,1796189369042,0,0.64628200000000002312,200,20,'','',NULL,NULL,NULL,0.56422799999999995179,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:29 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(93,13,4,'SUCCESS',1796189368665,1796189369186,1796189370687,0,1500.9995229999999538,200,25,'','',NULL,NULL,NULL,1500.8820630000000164,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(94,1,1,'SUCCESS',1796189369668,1796189369668,1796189369669,0,0.88894700000000004269,200,20,'','',NULL,NULL,NULL,0.82491700000000001136,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:29 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(95,14,4,'SUCCESS',1796189369751,1796189369751,1796189371253,0,1501.6314480000000912,200,25,'','',NULL,NULL,NULL,1501.4764070000001084,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:31 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(96,15,4,'INTERRUPTED',1796189369849,1796189369849,1796189370824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(97,2,2,'SUCCESS',1796189370000,1796189370001,1796189370002,0,1.2331620000000000914,200,20,'','',NULL,0.35075800000000001421,NULL,1.1281859999999999111,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(98,7,1,'SUCCESS',1796189370224,1796189370224,1796189370225,0,0.85395100000000001561,200,20,'','',NULL,NULL,NULL,0.77949199999999996268,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(99,9,1,'SUCCESS',1796189370366,1796189370366,1796189370366,0,0.6705480000000000329,200,20,'','',NULL,NULL,NULL,0.5817210000000000436,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(100,12,3,'FAILED',1796189370592,1796189370592,1796189370593,0,0.67109900000000000108,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.59259200000000000763,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(101,13,4,'SUCCESS',1796189370665,1796189370688,1796189372190,1,1501.8826779999999417,200,25,'','',NULL,NULL,NULL,1501.7989110000000891,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(102,14,4,'SUCCESS',1796189370751,1796189370751,1796189372252,0,1501.013578999999936,200,25,'','',NULL,NULL,NULL,1500.9226679999999305,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(103,15,4,'INTERRUPTED',1796189370849,1796189370849,1796189371824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(104,16,1,'SUCCESS',1796189370943,1796189370943,1796189370944,0,1.059536999999999951,200,20,'','',NULL,0.29400100000000001232,NULL,0.9431389999999999496,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:30 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(105,17,1,'SUCCESS',1796189371041,1796189371041,1796189371042,0,0.68199799999999999311,200,20,'','',NULL,NULL,NULL,0.63244599999999995265,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:31 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(106,1,1,'SUCCESS',1796189371668,1796189371668,1796189371669,0,0.62499199999999999199,200,20,'','',NULL,NULL,NULL,0.56719399999999997596,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:31 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(107,14,4,'SUCCESS',1796189371751,1796189371751,1796189373253,0,1501.7365950000000794,200,25,'','',NULL,NULL,NULL,1501.6435599999999794,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:33 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(108,15,4,'INTERRUPTED',1796189371849,1796189371849,1796189372824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(109,11,1,'SUCCESS',1796189370516,1796189371914,1796189371916,0,0.94586300000000000931,200,20,'','',NULL,0.29241800000000001125,NULL,0.87292599999999997972,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:31 GMT"}','vm-25328',NULL,1,'schedule',1398,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(110,2,2,'SUCCESS',1796189372000,1796189372000,1796189372001,0,0.80827599999999999447,200,20,'','',NULL,NULL,NULL,0.77408100000000001905,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(111,6,1,'SUCCESS',1796189372000,1796189372001,1796189372001,0,0.59329299999999995929,200,20,'','',NULL,0.23346700000000000785,NULL,0.55366899999999996673,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(112,7,1,'SUCCESS',1796189372224,1796189372224,1796189372225,0,0.64847600000000005238,200,20,'','',NULL,NULL,NULL,0.59646799999999999819,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(113,13,4,'SUCCESS',1796189371665,1796189372191,1796189373692,0,1500.6625309999999444,200,25,'','',NULL,NULL,NULL,1500.5843540000000757,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:33 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(114,9,1,'SUCCESS',1796189372366,1796189372366,1796189372367,0,0.83726999999999995871,200,20,'','',NULL,NULL,NULL,0.75254100000000001546,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(115,12,3,'FAILED',1796189372592,1796189372592,1796189372593,0,0.59898300000000004317,500,20,'http_5xx','HTTP 500 Internal Server Error',NULL,NULL,NULL,0.53515299999999998981,'GET','http://127.0.0.1:35787/status/500',replace('{\n  "status": 500\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
INSERT INTO runs VALUES(116,14,4,'SUCCESS',1796189372751,1796189372751,1796189374253,0,1502.0158790000000407,200,25,'','',NULL,NULL,NULL,1501.9274430000000392,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:34 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(117,15,4,'INTERRUPTED',1796189372849,1796189372849,1796189373824,0,NULL,NULL,NULL,'interrupted','replaced by the schedule''s next occurrence (overlap_policy replace)',NULL,NULL,NULL,NULL,'GET','',NULL,NULL,'vm-25328',NULL,0,'schedule',0,'',0,NULL);
INSERT INTO runs VALUES(118,16,1,'SUCCESS',1796189372943,1796189372943,1796189372944,0,0.68207899999999999085,200,20,'','',NULL,NULL,NULL,0.61303900000000000058,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:32 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(119,17,1,'SUCCESS',1796189373041,1796189373042,1796189373042,0,0.87410900000000002485,200,20,'','',NULL,NULL,NULL,0.79180499999999998106,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:33 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(120,1,1,'SUCCESS',1796189373668,1796189373668,1796189373669,0,0.68774900000000005473,200,20,'','',NULL,NULL,NULL,0.61056500000000002437,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:33 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********","X-Fixture-Token":"********","X-Plain":"plain-value"}');
INSERT INTO runs VALUES(121,13,4,'SUCCESS',1796189373665,1796189373693,1796189375195,1,1501.5968829999999343,200,25,'','',NULL,NULL,NULL,1501.4961140000000341,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:35 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(122,14,4,'SUCCESS',1796189373751,1796189373751,1796189375252,0,1501.0574309999999513,200,25,'','',NULL,NULL,NULL,1500.955600000000004,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:35 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(123,15,4,'SUCCESS',1796189373849,1796189373849,1796189375350,0,1501.4356199999999716,200,25,'','',NULL,NULL,NULL,1501.3506509999999707,'GET','http://127.0.0.1:35787/delay/1500',replace('{\n  "delayed_ms": 1500\n}\n','\n',char(10)),'{"Content-Length":"25","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:35 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"X-Api-Key":"********"}');
INSERT INTO runs VALUES(124,2,2,'SUCCESS',1796189374000,1796189374000,1796189374001,0,0.90664999999999995594,200,20,'','',NULL,0.32367699999999999249,NULL,0.83370299999999997186,'GET','http://127.0.0.1:35787/status/200',replace('{\n  "status": 200\n}\n','\n',char(10)),'{"Content-Length":"20","Content-Type":"application/json","Date":"Wed, 02 Dec 2026 05:29:34 GMT"}','vm-25328',NULL,1,'schedule',0,'',0,'{"Authorization":"********"}');
CREATE TABLE attempts (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id         BIGINT  NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
    attempt_number INTEGER NOT NULL,
    status         TEXT    NOT NULL,
    started_at     BIGINT  NOT NULL,
    finished_at    BIGINT  NOT NULL,
    latency_ms     REAL,
    status_code    INTEGER,
    response_size  BIGINT,
    error_type     TEXT    NOT NULL DEFAULT '',
    error_message  TEXT    NOT NULL DEFAULT '',
    dns_ms         REAL,
    connect_ms     REAL,
    tls_ms         REAL,
    first_byte_ms  REAL,
    UNIQUE (run_id, attempt_number)
);
CREATE TABLE run_stats (
    scope                 BIGINT PRIMARY KEY,
    runs_success          BIGINT NOT NULL DEFAULT 0,
    runs_failed           BIGINT NOT NULL DEFAULT 0,
    runs_timeout          BIGINT NOT NULL DEFAULT 0,
    runs_dns_error        BIGINT NOT NULL DEFAULT 0,
    runs_connection_error BIGINT NOT NULL DEFAULT 0,
    runs_interrupted      BIGINT NOT NULL DEFAULT 0,
    latency_sum_ms        REAL   NOT NULL DEFAULT 0,
    latency_count         BIGINT NOT NULL DEFAULT 0,
    histogram             TEXT   NOT NULL DEFAULT '',
    last_run_at           BIGINT,
    last_status           TEXT,
    skipped_overlap       BIGINT NOT NULL DEFAULT 0,
    missed                BIGINT NOT NULL DEFAULT 0
, latency_min_ms REAL, latency_max_ms REAL, consecutive_failures BIGINT NOT NULL DEFAULT 0, consecutive_successes BIGINT NOT NULL DEFAULT 0, failing_since BIGINT, alert_state TEXT NOT NULL DEFAULT 'ok', alerted_at BIGINT);
INSERT INTO run_stats VALUES(0,101,8,0,0,0,15,42109.987211999999998,109,'14:1,17:4,18:5,19:6,20:12,21:16,22:7,23:9,24:5,25:3,27:4,28:2,29:3,30:1,31:1,36:1,38:1,101:28',1796189375350,'SUCCESS',0,5,0.34847400000000000597,1502.4777540000000044,0,10,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(1,9,0,0,0,0,0,7.7402730000000001808,9,'17:1,19:2,20:1,21:1,23:2,28:1,30:1',1796189373669,'SUCCESS',0,0,0.47592200000000001169,1.6127240000000000463,0,9,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(2,9,0,0,0,0,0,9.6114929999999993981,9,'18:1,21:1,22:3,23:1,24:1,27:1,36:1',1796189374001,'SUCCESS',0,0,0.55075300000000004807,3.0161760000000001902,0,9,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(3,0,0,0,0,0,0,0.0,0,'',NULL,NULL,0,0,NULL,NULL,0,0,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(4,1,0,0,0,0,0,1.7765219999999999345,1,'31:1',1796189360004,'SUCCESS',0,0,1.7765219999999999345,1.7765219999999999345,0,1,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(5,4,0,0,0,0,0,3.1408000000000000362,4,'17:1,18:1,20:1,29:1',1796189361052,'SUCCESS',0,0,0.49541899999999999826,1.4565319999999999378,0,4,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(6,5,0,0,0,0,0,6.3282870000000004395,5,'19:2,21:1,23:1,38:1',1796189372001,'SUCCESS',0,0,0.56817600000000001436,3.5697540000000000937,0,5,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(7,8,0,0,0,0,0,6.0113330000000004815,8,'17:1,18:1,20:1,21:1,22:2,23:1,27:1',1796189372225,'SUCCESS',0,0,0.5038749999999999618,1.2021139999999999048,0,8,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(8,3,0,0,0,0,0,2.6925679999999996283,3,'20:1,23:1,27:1',1796189360296,'SUCCESS',0,0,0.63171399999999999774,1.2372799999999999354,0,3,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(9,8,0,0,0,0,0,6.4223249999999998394,8,'20:4,21:2,23:1,29:1',1796189372367,'SUCCESS',0,0,0.62578400000000000691,1.5681009999999999671,0,8,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(10,5,0,0,0,0,0,3.9983979999999998966,5,'18:2,20:1,22:1,29:1',1796189362437,'SUCCESS',0,0,0.51358300000000001173,1.5266530000000000377,0,5,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(11,5,0,0,0,0,0,4.2814980000000000259,5,'19:1,21:2,24:1,28:1',1796189371916,'SUCCESS',0,0,0.5855979999999999519,1.3209370000000000278,0,5,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(12,0,8,0,0,0,0,5.2635000000000005115,8,'14:1,19:1,20:2,21:3,24:1',1796189372593,'FAILED',0,0,0.34847400000000000597,0.93549400000000004773,8,0,1796189358594,'ok',NULL);
INSERT INTO run_stats VALUES(13,11,0,0,0,0,0,16515.304359999998268,11,'101:11',1796189375195,'SUCCESS',0,5,1500.6625309999999444,1502.4777540000000044,0,11,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(14,16,0,0,0,0,0,24022.661730999996508,16,'101:16',1796189375252,'SUCCESS',0,0,1500.9086319999998977,1502.3406079999999747,0,16,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(15,1,0,0,0,0,15,1501.4356199999999716,1,'101:1',1796189375350,'SUCCESS',0,0,1501.4356199999999716,1501.4356199999999716,0,1,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(16,8,0,0,0,0,0,6.5192839999999998568,8,'17:1,21:2,22:1,23:1,24:1,25:2',1796189372944,'SUCCESS',0,0,0.49585000000000001296,1.059536999999999951,0,8,NULL,'ok',NULL);
INSERT INTO run_stats VALUES(17,8,0,0,0,0,0,6.7992200000000000414,8,'20:1,21:3,23:1,24:1,25:1,27:1',1796189373042,'SUCCESS',0,0,0.64628200000000002312,1.2819739999999999469,0,8,NULL,'ok',NULL);
CREATE TABLE run_stats_minute (
    minute BIGINT PRIMARY KEY,
    runs   BIGINT NOT NULL DEFAULT 0
, runs_success BIGINT NOT NULL DEFAULT 0, runs_failed BIGINT NOT NULL DEFAULT 0, runs_timeout BIGINT NOT NULL DEFAULT 0, runs_dns_error BIGINT NOT NULL DEFAULT 0, runs_connection_error BIGINT NOT NULL DEFAULT 0, runs_interrupted BIGINT NOT NULL DEFAULT 0, latency_histogram TEXT NOT NULL DEFAULT '', lateness_histogram TEXT NOT NULL DEFAULT '');
INSERT INTO run_stats_minute VALUES(1796189340000,124,101,8,0,0,0,15,'14:1,17:4,18:5,19:6,20:12,21:16,22:7,23:9,24:5,25:3,27:4,28:2,29:3,30:1,31:1,36:1,38:1,101:28','0:74,25:18,32:4,36:2,42:1,46:1,52:1,55:1,58:1,60:1,90:5');
CREATE TABLE nodes (
    node_id      TEXT   PRIMARY KEY,
    started_at   BIGINT NOT NULL,
    heartbeat_at BIGINT NOT NULL
);
CREATE TABLE leases (
    name       TEXT   PRIMARY KEY,
    holder     TEXT   NOT NULL,
    epoch      BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE TABLE backfills (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id     BIGINT NOT NULL,
    since_at        BIGINT NOT NULL,
    until_at        BIGINT NOT NULL,
    rate_per_second INTEGER NOT NULL,
    status          TEXT NOT NULL,
    total           BIGINT NOT NULL,
    inserted        BIGINT NOT NULL DEFAULT 0,
    existing        BIGINT NOT NULL DEFAULT 0,
    next_at         BIGINT,
    last_step_at    BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    finished_at     BIGINT
);
CREATE TABLE schedule_events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id BIGINT NOT NULL,
    at          BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    detail      TEXT NOT NULL
);
INSERT INTO schedule_events VALUES(1,1,1796189357668,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(2,2,1796189357768,'created','api','{"schedule_type":"CRON","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(3,3,1796189357863,'created','api','{"schedule_type":"CRON","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(4,4,1796189357952,'created','api','{"schedule_type":"ONCE","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(5,5,1796189358052,'created','api','{"schedule_type":"WINDOW","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(6,6,1796189358142,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(7,7,1796189358224,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(8,8,1796189358295,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(9,9,1796189358366,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(10,10,1796189358436,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(11,11,1796189358516,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(12,12,1796189358592,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(13,13,1796189358665,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(14,14,1796189358751,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(15,15,1796189358849,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(16,16,1796189358943,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(17,17,1796189359041,'created','api','{"schedule_type":"INTERVAL","status":"ACTIVE"}');
INSERT INTO schedule_events VALUES(18,4,1796189359975,'stopped','engine','{"reason":"ran_once","run_count":1}');
INSERT INTO schedule_events VALUES(19,8,1796189360270,'stopped','engine','{"reason":"max_runs_reached","run_count":3}');
INSERT INTO schedule_events VALUES(20,5,1796189362027,'stopped','engine','{"reason":"window_elapsed","run_count":4}');
INSERT INTO schedule_events VALUES(21,10,1796189363128,'paused','api','{"reason":"paused in the fixture","until":null}');
CREATE TABLE misses (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    schedule_id BIGINT NOT NULL,
    from_at     BIGINT NOT NULL,
    until_at    BIGINT NOT NULL,
    count       BIGINT NOT NULL,
    reason      TEXT NOT NULL,
    run_id      BIGINT,
    lateness_ms BIGINT NOT NULL,
    at          BIGINT NOT NULL
, cause TEXT NOT NULL DEFAULT '');
INSERT INTO misses VALUES(1,13,1796189360665,1796189361665,1,'coalesced',38,1007,1796189361672,'overloaded');
INSERT INTO misses VALUES(2,13,1796189363665,1796189364665,1,'coalesced',60,1012,1796189364677,'overloaded');
INSERT INTO misses VALUES(3,13,1796189366665,1796189367665,1,'coalesced',80,1017,1796189367682,'overloaded');
INSERT INTO misses VALUES(4,13,1796189369665,1796189370665,1,'coalesced',101,1022,1796189370687,'overloaded');
INSERT INTO misses VALUES(5,13,1796189372665,1796189373665,1,'coalesced',121,1027,1796189373692,'overloaded');
CREATE TABLE notifiers (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    name            TEXT NOT NULL UNIQUE,
    type            TEXT NOT NULL,
    url             TEXT NOT NULL DEFAULT '',
    signing_secrets TEXT NOT NULL DEFAULT '',
    email           TEXT NOT NULL DEFAULT '',
    password        TEXT NOT NULL DEFAULT '',
    last_status     TEXT NOT NULL DEFAULT '',
    last_error      TEXT NOT NULL DEFAULT '',
    last_attempt_at BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    notifier_id     BIGINT NOT NULL,
    schedule_id     BIGINT,
    run_id          BIGINT,
    event           TEXT NOT NULL,
    message         TEXT NOT NULL,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
INSERT INTO settings VALUES('trace_seed','749696289da2e511a327aa85348a58f1');
INSERT INTO settings VALUES('session_key','enc:v1:OeAWDBeethReXPx1S2aAxLfbBgs4P4N3NF6JIGObwYreCTYO8kgWg5OqItDfW3WwBn6MuaKSMU6k0AdZEli9nF7jAUT16YuN');
CREATE TABLE dashboard_logouts (
    session_id TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
DELETE FROM sqlite_sequence;
INSERT INTO sqlite_sequence VALUES('targets',4);
INSERT INTO sqlite_sequence VALUES('schedules',17);
INSERT INTO sqlite_sequence VALUES('schedule_events',21);
INSERT INTO sqlite_sequence VALUES('runs',124);
INSERT INTO sqlite_sequence VALUES('misses',5);
CREATE INDEX schedules_target_id ON schedules (target_id);
CREATE INDEX schedules_status ON schedules (status);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE status = 'ACTIVE';
CREATE INDEX runs_status ON runs (status, id);
CREATE INDEX runs_target ON runs (target_id, id);
CREATE INDEX runs_scheduled_at ON runs (scheduled_at);
CREATE INDEX runs_unassigned ON runs (scheduled_at) WHERE status = 'RUNNING' AND node_id = '';
CREATE INDEX schedules_keep_runs ON schedules (id) WHERE keep_runs IS NOT NULL;
CREATE INDEX backfills_schedule ON backfills (schedule_id, id);
CREATE INDEX backfills_running ON backfills (id) WHERE status = 'RUNNING';
CREATE INDEX schedule_events_schedule ON schedule_events (schedule_id, id);
CREATE INDEX misses_schedule ON misses (schedule_id, from_at);
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_schedule ON notifications (schedule_id, id);
CREATE INDEX notifications_notifier ON notifications (notifier_id, id);
CREATE INDEX dashboard_logouts_expires ON dashboard_logouts (expires_at);
COMMIT;
