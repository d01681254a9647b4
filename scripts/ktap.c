// SPDX-License-Identifier: GPL-2.0
/*
 * ktap - summarise KTAP and TAP test output while it streams past
 *
 * Usage: ktap [-v] [-o RESULTS] [FILE...]
 *
 * "make test" runs the host tests and the tests inside the UML guest (KUnit
 * in the kernel, kselftests and shell tests in its userspace) and pipes all
 * of their output through this filter. For every test case it prints one
 * line, "PASS path", "FAIL path" or "SKIP path", as soon as the result
 * arrives, follows each FAIL with the lines that led up to it, and ends
 * with "N passed, N failed[, N skipped]".
 *
 * The format is the one of the kernel's Documentation/dev-tools/ktap.rst and
 * the rules follow tools/testing/kunit/kunit_parser.py. That parser is not
 * used: this project keeps its host tools in C, buildable with nothing but
 * a compiler, and it needs a streaming filter over one long mixed run that
 * also takes plain TAP 13 as written by kselftest_harness.h and by shell
 * tests, where several documents follow each other and nested output is
 * "# "-prefixed. kunit_parser.py reads one KTAP document out of one kernel
 * log.
 *
 * Structure comes from indentation alone. Nesting is relative: KUnit
 * indents subtests by 4 spaces, ktap.rst shows 2, old KUnit used a tab, so
 * a line deeper than the current stream opens a child stream and a
 * structural line shallower than it closes it. Only version, plan, result
 * and "# Subtest:" lines are structural; every other line, indented or not,
 * is a diagnostic or console noise and only kept as context for failures.
 *
 * Exit status: 0 all passed or skipped, 1 something failed, 2 bad usage,
 * 3 no test result at all (a run that tested nothing must not pass).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define MAX_DEPTH	64
#define CONTEXT_LINES	20
#define USAGE		"usage: ktap [-v] [-o RESULTS] [FILE...]"

enum status { PASS, FAIL, SKIP };

static const char * const status_name[] = { "PASS", "FAIL", "SKIP" };

/*
 * One (sub)stream of results at one indentation. stack[0] is a virtual
 * root at indent -1 so that every real document is a child of something;
 * stack[1] is the document, deeper entries are subtests.
 */
struct level {
	int indent;
	char *name;		/* parent's name, NULL until it is known */
	long plan;		/* N of "1..N", -1 without a plan */
	bool plan_skip;		/* "1..0 # SKIP reason" */
	char *skip_reason;
	bool versioned;		/* opened by a version line */
	long results;		/* results here, including missing ones */
	long failed;		/* failures counted in this subtree */
	long child_results;	/* in child streams since our last result */
	long child_failed;
};

static struct level stack[MAX_DEPTH];
static int depth;

/* A "# Subtest:" header that names the next child stream to open. */
static char *pending_name;
static int pending_indent;

static long n_passed, n_failed, n_skipped;
static bool verbose;

/*
 * The most recent non-result lines since the last result at any level:
 * kselftest_harness and shell tests print why a test failed just before
 * its "not ok", so that is what a FAIL line is followed by.
 */
static struct {
	char *line[CONTEXT_LINES];
	size_t size[CONTEXT_LINES];
	int first;
	int count;
} ctx;

static void *xmalloc(size_t size)
{
	void *p = malloc(size);

	if (!p) {
		fprintf(stderr, "umdlab: out of memory\n");
		exit(2);
	}
	return p;
}

static char *xstrdup(const char *s)
{
	size_t len = strlen(s) + 1;

	return memcpy(xmalloc(len), s, len);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Columns of leading blanks, tabs to the next multiple of 8. */
static const char *measure_indent(const char *s, int *indent)
{
	int col = 0;

	for (; is_space(*s); s++)
		col = *s == '\t' ? (col / 8 + 1) * 8 : col + 1;
	*indent = col;
	return s;
}

static void context_add(const char *line)
{
	size_t len = strlen(line) + 1;
	int slot;

	if (ctx.count == CONTEXT_LINES) {
		slot = ctx.first;
		ctx.first = (ctx.first + 1) % CONTEXT_LINES;
	} else {
		slot = (ctx.first + ctx.count++) % CONTEXT_LINES;
	}
	/* Slots are reused: a long log must not mean one malloc a line. */
	if (ctx.size[slot] < len) {
		free(ctx.line[slot]);
		ctx.line[slot] = xmalloc(len);
		ctx.size[slot] = len;
	}
	memcpy(ctx.line[slot], line, len);
}

static void context_clear(void)
{
	ctx.first = 0;
	ctx.count = 0;
}

/* Skip up to @cols columns of indentation. */
static const char *dedent(const char *s, int cols)
{
	int col = 0;

	for (;;) {
		int next = *s == '\t' ? (col / 8 + 1) * 8 : col + 1;

		if ((*s != ' ' && *s != '\t') || next > cols)
			return s;
		col = next;
		s++;
	}
}

/* Dedented like kunit_parser.py does, so nested output reads flat. */
static void context_print(void)
{
	int i, indent = -1;

	for (i = 0; i < ctx.count; i++) {
		int cols;

		measure_indent(ctx.line[(ctx.first + i) % CONTEXT_LINES], &cols);
		if (indent < 0 || cols < indent)
			indent = cols;
	}
	for (i = 0; i < ctx.count; i++) {
		const char *line = ctx.line[(ctx.first + i) % CONTEXT_LINES];

		printf("    %s\n", dedent(line, indent));
	}
}

/*
 * Print and count one test. The path is every parent name known so far
 * plus @leaf. Every counted result, real or made up for a missing one,
 * uses up the context, so a crash's log is shown once, not per missing
 * test.
 */
static void report(enum status st, const char *leaf)
{
	int i;

	printf("%s ", status_name[st]);
	for (i = 1; i <= depth; i++)
		if (stack[i].name)
			printf("%s.", stack[i].name);
	printf("%s\n", leaf);

	if (st == PASS)
		n_passed++;
	else if (st == SKIP)
		n_skipped++;
	else
		n_failed++;
	if (st == FAIL)
		context_print();
	context_clear();
}

static void report_missing(long num)
{
	char leaf[48];

	snprintf(leaf, sizeof(leaf), "<missing #%ld>", num);
	report(FAIL, leaf);
	stack[depth].failed++;
}

/* Nothing decided yet, so a second header line may still describe it. */
static bool level_is_fresh(const struct level *l)
{
	return l->plan < 0 && !l->results && !l->child_results;
}

static void push(int indent)
{
	struct level *l;

	/* Absurdly deep input is folded into the deepest level. */
	if (depth == MAX_DEPTH - 1)
		return;
	l = &stack[++depth];
	memset(l, 0, sizeof(*l));
	l->indent = indent;
	l->plan = -1;
	/* Documents have no parent and thus no name. */
	if (pending_name && depth > 1 && indent >= pending_indent) {
		l->name = pending_name;
		pending_name = NULL;
	}
}

/*
 * The stream on top ended: by EOF, a new stream at its indentation, or a
 * result line further out. @parent_name is that result's name, if it is the
 * parent's, so that missing results get a useful path.
 */
static void close_top(const char *parent_name)
{
	struct level *l = &stack[depth];
	long num;

	if (!l->name && parent_name && *parent_name && depth > 1)
		l->name = xstrdup(parent_name);

	/*
	 * Subtests ran but the result line of their parent never came: the
	 * parent crashed. That is a failure unless a subtest already failed.
	 */
	if (l->child_results) {
		l->results++;
		if (!l->child_failed)
			report_missing(l->results);
		l->child_results = 0;
		l->child_failed = 0;
	}

	/* A test that died half-way must not look like a pass. */
	for (num = l->results + 1; num <= l->plan; num++) {
		report_missing(num);
		l->results++;
	}

	/*
	 * A nested "1..0 # SKIP" is counted through its parent's result line;
	 * a whole program that skips has no parent, so count it here.
	 */
	if (depth == 1 && !l->plan && l->plan_skip && !l->results) {
		char *leaf;
		const char *reason = l->skip_reason ? l->skip_reason : "";

		leaf = xmalloc(strlen(reason) + sizeof("<skipped: >"));
		sprintf(leaf, *reason ? "<skipped: %s>" : "<skipped>", reason);
		report(SKIP, leaf);
		free(leaf);
		l->results++;
	}
}

static void pop(void)
{
	struct level *l = &stack[depth], *parent = &stack[depth - 1];

	parent->child_results += l->results;
	parent->child_failed += l->failed;
	parent->failed += l->failed;
	free(l->name);
	free(l->skip_reason);
	memset(l, 0, sizeof(*l));
	depth--;
}

/* Close every stream deeper than @indent. */
static void pop_to(int indent, const char *closer)
{
	while (depth > 0 && stack[depth].indent > indent) {
		close_top(stack[depth - 1].indent == indent ? closer : NULL);
		pop();
	}
}

static void close_all(void)
{
	while (depth > 0) {
		close_top(NULL);
		pop();
	}
	stack[0].child_results = 0;
	stack[0].child_failed = 0;
	free(pending_name);
	pending_name = NULL;
}

/*
 * A second stream at the indentation of the one on top, before the parent's
 * result: e.g. one "make test" group that runs KUnit and then a kselftest.
 * The old stream is over, but the new one has the same parent and so the
 * same name.
 */
static void restart_top(int indent)
{
	char *name;

	close_top(NULL);
	name = stack[depth].name;
	stack[depth].name = NULL;
	pop();
	push(indent);
	/* Unless a "# Subtest:" header just named it. */
	if (depth > 1 && !stack[depth].name)
		stack[depth].name = name;
	else
		free(name);
}

static void handle_version(int indent)
{
	struct level *l;

	pop_to(indent, NULL);
	l = &stack[depth];
	if (depth > 0 && l->indent == indent) {
		/* "# Subtest:" may come first; a repeat changes nothing. */
		if (!level_is_fresh(l))
			restart_top(indent);
	} else {
		push(indent);
	}
	stack[depth].versioned = true;
}

static void handle_plan(int indent, long plan, bool skip, const char *reason)
{
	struct level *l;

	pop_to(indent, NULL);
	l = &stack[depth];
	if (l->indent < indent) {
		push(indent);
	} else if (l->plan >= 0) {
		/* Plain TAP has no version line to start a new document. */
		restart_top(indent);
	}
	l = &stack[depth];
	l->plan = plan;
	l->plan_skip = skip;
	free(l->skip_reason);
	l->skip_reason = reason ? xstrdup(reason) : NULL;
}

static void handle_subtest(int indent, const char *name)
{
	struct level *l = &stack[depth];

	/* KUnit: "KTAP version 1", "# Subtest: name", "1..N", all indented. */
	if (depth > 1 && l->indent == indent && l->versioned && !l->name &&
	    level_is_fresh(l)) {
		l->name = xstrdup(name);
		return;
	}
	/* TAP 14 and old KUnit put the header before the child stream. */
	free(pending_name);
	pending_name = xstrdup(name);
	pending_indent = indent;
}

static void handle_result(int indent, bool ok, long num, const char *name,
			  const char *directive)
{
	struct level *l;
	enum status st;
	char numbered[32];

	if (!*name) {
		snprintf(numbered, sizeof(numbered), "<#%ld>", num);
		name = numbered;
	}

	pop_to(indent, name);
	if (stack[depth].indent < indent)
		push(indent);
	l = &stack[depth];

	if (!strncasecmp(directive, "skip", 4))
		st = SKIP;
	else if (ok)
		st = PASS;
	/* Known to fail: neither a pass nor a reason to fail the run. */
	else if (!strncasecmp(directive, "todo", 4) ||
		 !strncasecmp(directive, "xfail", 5))
		st = SKIP;
	else
		st = FAIL;

	if (!l->child_results) {
		report(st, name);
		if (st == FAIL)
			l->failed++;
	} else if (st == FAIL && !l->child_failed) {
		/* Every subtest passed, yet the parent failed: it crashed. */
		report(FAIL, name);
		l->failed++;
	} else {
		/* A parent's verdict is its leaves', already counted. */
		context_clear();
	}
	l->results++;
	l->child_results = 0;
	l->child_failed = 0;
	free(pending_name);
	pending_name = NULL;
}

/*
 * "Bail out!" ends the document it is in, and only that: under "make test"
 * the next program's results must still count.
 */
static void handle_bail_out(const char *line, int indent)
{
	int i;

	/* It may be the first line of a subtest: it belongs in there. */
	pop_to(indent, NULL);
	if (stack[depth].indent < indent)
		push(indent);
	/* The reason is on the line itself, show it with the rest. */
	context_add(line);
	report(FAIL, "<bail out>");
	/* As a result of its stream, so that its parent is not a leaf. */
	stack[depth].results++;
	stack[depth].failed++;
	/* The run was aborted on purpose; what it did not run is not news. */
	for (i = depth; i > 0 && stack[i].indent >= indent; i--)
		stack[i].plan = -1;
	pop_to(indent - 1, NULL);
}

/* "[   12.345678] ": printk timestamps on the console, not indentation. */
static const char *skip_timestamp(const char *s)
{
	const char *p = s;

	if (*p++ != '[')
		return s;
	while (*p == ' ')
		p++;
	if (*p < '0' || *p > '9')
		return s;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != '.' || *p < '0' || *p > '9')
		return s;
	while (*p >= '0' && *p <= '9')
		p++;
	if (*p++ != ']')
		return s;
	return *p == ' ' ? p + 1 : p;
}

static const char *skip_spaces(const char *s)
{
	while (is_space(*s))
		s++;
	return s;
}

/* Parse a decimal number that must be followed by a blank or the end. */
static const char *parse_number(const char *s, long *num)
{
	long n = 0;

	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9') {
		if (n < 100000000)
			n = n * 10 + (*s - '0');
		s++;
	}
	if (*s && !is_space(*s))
		return NULL;
	*num = n;
	return s;
}

/* "1..N [# SKIP reason]" */
static bool parse_plan(const char *s, int indent)
{
	const char *hash, *reason = NULL;
	bool skip = false;
	long plan;

	if (strncmp(s, "1..", 3))
		return false;
	s = parse_number(s + 3, &plan);
	if (!s)
		return false;
	hash = strchr(s, '#');
	if (hash) {
		const char *dir = skip_spaces(hash + 1);

		if (!strncasecmp(dir, "skip", 4)) {
			skip = true;
			reason = skip_spaces(dir + 4);
		}
	}
	handle_plan(indent, plan, skip, reason);
	return true;
}

/* "ok N [- ]name [# DIRECTIVE ...]" and "not ok ...". */
static bool parse_result(char *s, int indent)
{
	char *name, *end, *directive = "";
	bool ok = true;
	long num;

	if (!strncmp(s, "not ok ", 7)) {
		ok = false;
		s += 7;
	} else if (!strncmp(s, "ok ", 3)) {
		s += 3;
	} else {
		return false;
	}
	s = (char *)parse_number(s, &num);
	if (!s)
		return false;
	name = (char *)skip_spaces(s);
	if (name[0] == '-' && (!name[1] || is_space(name[1])))
		name = (char *)skip_spaces(name + 1);

	/* A '#' inside a word is part of the name, " #" starts a directive. */
	for (end = name; *end; end++) {
		if (*end == '#' && (end == name || is_space(end[-1]))) {
			directive = (char *)skip_spaces(end + 1);
			break;
		}
	}
	while (end > name && is_space(end[-1]))
		end--;
	*end = '\0';
	handle_result(indent, ok, num, name, directive);
	return true;
}

static bool is_version(const char *s)
{
	long version;

	if (!strncmp(s, "KTAP version ", 13))
		s += 13;
	else if (!strncmp(s, "TAP version ", 12))
		s += 12;
	else
		return false;
	s = parse_number(s, &version);
	return s && !*s;
}

static void handle_line(char *line)
{
	const char *text, *body;
	size_t len = strlen(line);
	int indent = 0;

	/* Serial consoles end lines with "\r\n". */
	while (len && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		       is_space(line[len - 1])))
		line[--len] = '\0';

	/*
	 * A printk timestamp may come before the indentation or, when a
	 * wrapper indents the console output again, after some of it.
	 */
	body = measure_indent(line, &indent);
	text = skip_timestamp(body);
	if (text != body) {
		int more;

		body = measure_indent(text, &more);
		indent += more;
	}
	if (!*body)
		return;

	if (is_version(body)) {
		handle_version(indent);
	} else if (!strncmp(body, "# Subtest:", 10) &&
		   *skip_spaces(body + 10)) {
		handle_subtest(indent, skip_spaces(body + 10));
	} else if (parse_plan(body, indent)) {
		;
	} else if (!strncmp(body, "Bail out!", 9)) {
		handle_bail_out(line, indent);
	} else if (!parse_result(line + (body - line), indent)) {
		/* parse_result() edits only lines that are results. */
		context_add(line);
	}
}

static void filter(FILE *in)
{
	char *line = NULL;
	size_t size = 0;
	ssize_t len;

	while ((len = getline(&line, &size, in)) > 0) {
		if (verbose) {
			fputs(line, stdout);
			if (line[len - 1] != '\n')
				putchar('\n');
		}
		handle_line(line);
	}
	free(line);
	/* Every file is a run of its own: what it left open ends here. */
	close_all();
	context_clear();
}

static void usage_error(const char *what)
{
	fprintf(stderr, "umdlab: %s; " USAGE "\n", what);
	exit(2);
}

int main(int argc, char **argv)
{
	FILE *results = NULL, **inputs;
	bool no_results;
	int opt, ninputs, i;
	char what[64];

	opterr = 0;
	while ((opt = getopt(argc, argv, ":vo:h")) != -1) {
		switch (opt) {
		case 'v':
			verbose = true;
			break;
		case 'o':
			/* Opened now so a bad path fails before the run. */
			if (results)
				fclose(results);
			results = fopen(optarg, "w");
			if (!results) {
				fprintf(stderr, "umdlab: %s: %s\n", optarg,
					strerror(errno));
				return 2;
			}
			break;
		case 'h':
			puts(USAGE);
			return 0;
		case ':':
			snprintf(what, sizeof(what), "-%c needs an argument",
				 optopt);
			usage_error(what);
			break;
		default:
			snprintf(what, sizeof(what), "unknown option -%c",
				 optopt);
			usage_error(what);
		}
	}

	/* Open all inputs first: a typo must not cost a long test run. */
	ninputs = argc > optind ? argc - optind : 1;
	inputs = xmalloc(ninputs * sizeof(*inputs));
	if (argc == optind)
		inputs[0] = stdin;
	for (i = 0; optind + i < argc; i++) {
		const char *path = argv[optind + i];

		inputs[i] = strcmp(path, "-") ? fopen(path, "r") : stdin;
		if (!inputs[i]) {
			fprintf(stderr, "umdlab: %s: %s\n", path,
				strerror(errno));
			return 2;
		}
	}

	/* Results must show while the run goes on, even through a pipe. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	stack[0].indent = -1;

	for (i = 0; i < ninputs; i++) {
		filter(inputs[i]);
		if (inputs[i] != stdin)
			fclose(inputs[i]);
	}
	free(inputs);

	no_results = !n_passed && !n_failed && !n_skipped;
	if (no_results) {
		puts("umdlab: no test results in input");
		n_failed = 1;
	}
	printf("%ld passed, %ld failed", n_passed, n_failed);
	if (n_skipped)
		printf(", %ld skipped", n_skipped);
	putchar('\n');

	if (results) {
		fprintf(results, "passed=%ld failed=%ld skipped=%ld\n",
			n_passed, n_failed, n_skipped);
		if (fclose(results)) {
			fprintf(stderr, "umdlab: cannot write results: %s\n",
				strerror(errno));
			return 2;
		}
	}

	if (no_results)
		return 3;
	return n_failed ? 1 : 0;
}
