/* sh: the shell: pipelines, lists, quoting, background jobs; Ctrl-C through process groups. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "px.h"
#include "pxutil.h"

/*
 * The grammar, one line at a time:
 *
 *   line      := [ list ]
 *   list      := pipeline { sep pipeline } [ sep ]      sep := ';' | '&'
 *   pipeline  := command { '|' command }
 *   command   := { word | redirect }                    at least one word
 *   redirect  := ( '<' | '>' | '>>' | '2>' | '2>>' ) word
 *   word      := one or more pieces, joined:
 *                  plain text   anything but blanks and | ; & < > ' " \
 *                  '...'        every character literal
 *                  "..."        literal, except \" and \\ (a " or a \)
 *                  \c           the character c
 *
 * A pipeline followed by '&' runs in the background, one followed by ';'
 * or the end of the line in the foreground.  "2>" and "2>>" are
 * redirections only at the start of a word (`echo a2>f` is the word a2,
 * then '>').
 *
 * Three steps, each its own function:
 *
 *   tokenize   the line -> tokens: words (quotes and escapes removed) and
 *              operators
 *   parse      tokens -> struct list: pipelines of commands
 *   execute    struct list -> processes: each stage of a pipeline is a
 *              process, connected to the next by a pipe
 *
 * A syntax error is found in the first two steps, so a line with one
 * starts nothing.  A pipeline's redirections are opened before any of
 * its stages starts ("<": read-only; ">", "2>": created or truncated;
 * ">>": created, every write at the end); one that cannot be opened
 * (no such file, a directory) is reported and starts nothing.  A
 * redirection wins over the pipe: `a > f | b` gives b end-of-file.
 *
 * A command NAME is the program /bin/NAME (a name with a '/' is a path);
 * without a file system, the kernel's archive's program NAME.
 *
 * Jobs and Ctrl-C (docs/user.md, "Process groups and Ctrl-C").  Each job
 * -- the processes of one pipeline -- is a process group: the first
 * stage starts a new group (PX_PG_NEW), the others join it.  When stdin
 * is the console, a foreground job's group becomes the console's
 * foreground group as its first stage starts (PX_SPAWN_FG), so Ctrl-C
 * kills the whole pipeline and nothing else; once it has ended, the
 * shell sets the foreground back to none (setfg(0)), so a Ctrl-C at the
 * prompt only ends the line being typed.  Background jobs keep their own
 * groups: Ctrl-C never reaches them.  Every stage gets fds 0, 1 and 2
 * only (PX_SPAWN_STDIO): the shell points its own fds 0, 1 and 2 at the
 * stage's pipe ends or files for the spawn (dup2) and back afterwards.
 * So no stage holds a pipe end that is not its own: a reader sees end-of-file when its writer ends, and a
 * writer whose reader has ended gets EPIPE (rather than waiting forever
 * on a pipe it would itself hold open for reading).
 *
 * There is no non-blocking wait, so background jobs are reaped whenever
 * sh next waits for a foreground job: each one that has ended is reported
 * then ("[7] clock 3: done").
 *
 * Lines come through stdin's buffer (fgets): on the console each read()
 * returns one line, so the program sh starts sees the input typed after
 * it; from a pipe, sh may buffer lines ahead that a child never sees, and
 * prints no prompt.
 */

#define LINE_LEN PX_ARG_MAX
#define MAX_TOKENS (LINE_LEN + 1)       /* every byte an operator, and the end */
#define MAX_WORDS LINE_LEN              /* words and each command's NULL */
#define MAX_CMDS (LINE_LEN / 2 + 1)
#define MAX_REDIRS 4                    /* per command */

/* ---- tokenize ---------------------------------------------------------------*/

enum tok { T_WORD, T_PIPE, T_SEMI, T_AMP, T_IN, T_OUT, T_APPEND, T_ERR, T_ERR_APPEND, T_END };

static const char *const tok_text[] = {
	[T_WORD] = "word", [T_PIPE] = "|", [T_SEMI] = ";", [T_AMP] = "&",
	[T_IN] = "<", [T_OUT] = ">", [T_APPEND] = ">>", [T_ERR] = "2>", [T_ERR_APPEND] = "2>>", [T_END] = "end of line",
};

struct token {
	enum tok kind;
	char *word;         /* T_WORD: its text, NUL-terminated */
};

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static bool ends_word(char c)
{
	return c == '\0' || is_blank(c) || strchr("|;&<>", c) != NULL;
}

/* The operator at s (its length in *len), or T_WORD if none. */
static enum tok operator_at(const char *s, int *len)
{
	*len = 1;
	switch (s[0]) {
	case '|': return T_PIPE;
	case ';': return T_SEMI;
	case '&': return T_AMP;
	case '<': return T_IN;
	case '>':
		if (s[1] == '>') {
			*len = 2;
			return T_APPEND;
		}
		return T_OUT;
	case '2':
		if (s[1] == '>' && s[2] == '>') {
			*len = 3;
			return T_ERR_APPEND;
		}
		if (s[1] == '>') {
			*len = 2;
			return T_ERR;
		}
		return T_WORD;
	default:
		return T_WORD;
	}
}

/*
 * Split line into toks[] (ending with T_END), writing the words' text
 * into buf (2 * LINE_LEN bytes: each byte of the line once, plus each
 * word's NUL).  Returns the number of tokens, or -1 after printing the
 * error (an unterminated quote, a '\' at the end of the line).
 */
static int tokenize(const char *line, struct token *toks, char *buf)
{
	const char *p = line;
	int n = 0;

	for (;;) {
		while (is_blank(*p))
			p++;
		if (*p == '\0')
			break;
		int len;
		enum tok op = operator_at(p, &len);
		if (op != T_WORD) {
			toks[n++] = (struct token){ op, NULL };
			p += len;
			continue;
		}
		/* A word: pieces up to the next blank or operator. */
		toks[n++] = (struct token){ T_WORD, buf };
		while (!ends_word(*p)) {
			if (*p == '\'' || *p == '"') {
				const char *open = p;
				char q = *p++;
				while (*p && *p != q) {
					if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\'))
						p++;
					*buf++ = *p++;
				}
				if (*p != q) {
					fprintf(stderr, "sh: syntax error: unterminated quote: %s\n", open);
					return -1;
				}
				p++;
			} else if (*p == '\\') {
				if (p[1] == '\0') {
					fprintf(stderr, "sh: syntax error: '\\' at the end of the line\n");
					return -1;
				}
				*buf++ = p[1];
				p += 2;
			} else {
				*buf++ = *p++;
			}
		}
		*buf++ = '\0';
	}
	toks[n++] = (struct token){ T_END, NULL };
	return n;
}

/* ---- parse --------------------------------------------------------------------*/

struct redirect {
	enum tok kind;          /* T_IN, T_OUT, T_APPEND, T_ERR or T_ERR_APPEND */
	const char *file;
};

struct command {
	char **argv;            /* argc words and a NULL, inside list.words */
	int argc;
	struct redirect redir[MAX_REDIRS];
	int nredir;
};

struct pipeline {
	struct command *cmd;    /* ncmd commands, inside list.cmds */
	int ncmd;
	bool background;        /* followed by '&' */
};

struct list {
	struct pipeline pipes[MAX_CMDS];
	int npipes;
	struct command cmds[MAX_CMDS];
	int ncmds;
	char *words[MAX_WORDS];
	int nwords;
};

struct parser {
	const struct token *t;  /* the next token */
	const struct token *prev;
	struct list *l;
};

/* "syntax error near 'X'": X is the token that cannot stand here, or the
 * one before it when the line ended too early (`a |`). */
static int syntax_error(const struct parser *ps)
{
	const struct token *t = ps->t->kind == T_END && ps->prev ? ps->prev : ps->t;
	if (t->kind == T_WORD)
		fprintf(stderr, "sh: syntax error near '%s'\n", t->word);
	else if (t->kind == T_END)
		fprintf(stderr, "sh: syntax error near end of line\n");
	else
		fprintf(stderr, "sh: syntax error near '%s'\n", tok_text[t->kind]);
	return -1;
}

static void advance(struct parser *ps)
{
	ps->prev = ps->t++;
}

static bool is_redirect(enum tok k)
{
	return k == T_IN || k == T_OUT || k == T_APPEND || k == T_ERR || k == T_ERR_APPEND;
}

/* command := { word | redirect }, at least one word. */
static int parse_command(struct parser *ps, struct command *c)
{
	struct list *l = ps->l;

	c->argv = &l->words[l->nwords];
	c->argc = 0;
	c->nredir = 0;
	for (;;) {
		if (ps->t->kind == T_WORD) {
			l->words[l->nwords++] = ps->t->word;
			c->argc++;
			advance(ps);
		} else if (is_redirect(ps->t->kind)) {
			enum tok kind = ps->t->kind;
			advance(ps);
			if (ps->t->kind != T_WORD)
				return syntax_error(ps);
			if (c->nredir == MAX_REDIRS) {
				fprintf(stderr, "sh: more than %d redirections in one command\n",
					MAX_REDIRS);
				return -1;
			}
			c->redir[c->nredir++] = (struct redirect){ kind, ps->t->word };
			advance(ps);
		} else {
			break;
		}
	}
	if (c->argc == 0)
		return syntax_error(ps);
	l->words[l->nwords++] = NULL;
	return 0;
}

/* pipeline := command { '|' command } */
static int parse_pipeline(struct parser *ps, struct pipeline *pl)
{
	struct list *l = ps->l;

	pl->cmd = &l->cmds[l->ncmds];
	pl->ncmd = 0;
	pl->background = false;
	for (;;) {
		if (parse_command(ps, &l->cmds[l->ncmds]) < 0)
			return -1;
		l->ncmds++;
		pl->ncmd++;
		if (ps->t->kind != T_PIPE)
			return 0;
		advance(ps);
	}
}

/* list := pipeline { sep pipeline } [ sep ].  Fills l from toks; 0, or
 * -1 after printing the error. */
static int parse(const struct token *toks, struct list *l)
{
	struct parser ps = { toks, NULL, l };

	l->npipes = l->ncmds = l->nwords = 0;
	while (ps.t->kind != T_END) {
		struct pipeline *pl = &l->pipes[l->npipes];
		if (parse_pipeline(&ps, pl) < 0)
			return -1;
		l->npipes++;
		if (ps.t->kind == T_SEMI || ps.t->kind == T_AMP) {
			pl->background = ps.t->kind == T_AMP;
			advance(&ps);
		} else if (ps.t->kind != T_END) {
			return syntax_error(&ps);
		}
	}
	return 0;
}

/* ---- jobs ---------------------------------------------------------------------*/

/* Background jobs still running.  A job is known by its process group,
 * which is its first process's pid; its status is its last stage's. */
#define JOBS 16
#define JOB_PROCS 64

static struct job {
	int id;                 /* 0: free slot */
	int left;               /* processes not reaped yet */
	int last_pid;
	int status;
	char text[48];          /* the pipeline, for messages */
} jobs[JOBS];

static struct {
	int pid;                /* 0: free slot */
	struct job *job;
} job_procs[JOB_PROCS];

static bool interactive;    /* stdin is the console: sh sets its foreground */

/* "clock 3 | cat", cut to fit n bytes. */
static void pipeline_text(const struct pipeline *pl, char *out, size_t n)
{
	size_t len = 0;

	out[0] = '\0';
	for (int i = 0; i < pl->ncmd; i++) {
		for (int w = 0; w < pl->cmd[i].argc && len + 1 < n; w++) {
			const char *sep = w > 0 ? " " : i > 0 ? " | " : "";
			len += (size_t)snprintf(out + len, n - len, "%s%s", sep, pl->cmd[i].argv[w]);
		}
	}
}

static void job_add(const struct pipeline *pl, const int *pids)
{
	struct job *j = NULL;

	for (int i = 0; i < JOBS && !j; i++)
		if (jobs[i].id == 0)
			j = &jobs[i];
	if (!j)
		return; /* table full: its processes are reaped and reported by pid */
	*j = (struct job){ .id = pids[0], .last_pid = pids[pl->ncmd - 1] };
	pipeline_text(pl, j->text, sizeof(j->text));
	for (int s = 0; s < pl->ncmd; s++)
		for (int i = 0; i < JOB_PROCS; i++)
			if (job_procs[i].pid == 0) {
				job_procs[i].pid = pids[s];
				job_procs[i].job = j;
				j->left++;
				break;
			}
}

/* How a command ended, for a message: NULL for a success. */
static const char *how(int status, char *buf, size_t n)
{
	if (PX_WAS_KILLED(status))
		return px_kill_reason_name(PX_KILL_REASON(status));
	if (PX_EXIT_CODE(status) != 0) {
		snprintf(buf, n, "exit status %d", PX_EXIT_CODE(status));
		return buf;
	}
	return NULL;
}

/* A background process pid has ended: report its job once all of it has. */
static void job_reaped(int pid, int status)
{
	char buf[24];
	const char *h;

	for (int i = 0; i < JOB_PROCS; i++) {
		struct job *j = job_procs[i].job;
		if (job_procs[i].pid != pid)
			continue;
		job_procs[i].pid = 0;
		if (pid == j->last_pid)
			j->status = status;
		if (--j->left == 0) {
			h = how(j->status, buf, sizeof(buf));
			printf("[%d] %s: %s\n", j->id, j->text, h ? h : "done");
			j->id = 0;
		}
		return;
	}
	h = how(status, buf, sizeof(buf));
	printf("[%d] %s\n", pid, h ? h : "done");
}

static void jobs_list(void)
{
	for (int i = 0; i < JOBS; i++)
		if (jobs[i].id)
			printf("[%d] %s\n", jobs[i].id, jobs[i].text);
}

/* ---- execute ----------------------------------------------------------------------*/

/* Programs live in /bin on the disk; without one (the kernel runs from
 * its archive) a bare name is the archive's program. */
static bool have_fs;

/* The path to spawn for command name: as typed if it has a '/', else
 * /bin/NAME (or the archive's NAME without a file system). */
static const char *program_path(const char *name, char *buf, size_t n)
{
	if (strchr(name, '/') || !have_fs)
		return name;
	snprintf(buf, n, "/bin/%s", name);
	return buf;
}

/* A command's fds 0, 1 and 2: its redirections' files, or -1 (the
 * pipeline's own). */
struct stage_fds {
	int fd[3];
};

static void close_redirs(struct stage_fds *r, int n)
{
	for (int i = 0; i < n; i++)
		for (int k = 0; k < 3; k++)
			if (r[i].fd[k] >= 0) {
				close(r[i].fd[k]);
				r[i].fd[k] = -1;
			}
}

/* Open every redirection of pl's commands into r[], in order (a later
 * one for the same fd wins; `> f` creates and truncates f even then,
 * as in any shell).  0, or -1 after printing the error with every file
 * closed again. */
static int open_redirs(const struct pipeline *pl, struct stage_fds *r)
{
	for (int i = 0; i < pl->ncmd; i++)
		r[i] = (struct stage_fds){ { -1, -1, -1 } };
	for (int i = 0; i < pl->ncmd; i++) {
		const struct command *c = &pl->cmd[i];
		for (int k = 0; k < c->nredir; k++) {
			const struct redirect *rd = &c->redir[k];
			bool err_fd = rd->kind == T_ERR || rd->kind == T_ERR_APPEND;
			int target = rd->kind == T_IN ? 0 : err_fd ? 2 : 1;
			int flags = rd->kind == T_IN ? O_RDONLY
				  : rd->kind == T_APPEND || rd->kind == T_ERR_APPEND
					  ? O_WRONLY | O_CREAT | O_APPEND
				  : O_WRONLY | O_CREAT | O_TRUNC;
			int fd = open(rd->file, flags, 0666);
			int err = errno;
			struct px_stat st;
			if (fd >= 0 && rd->kind == T_IN && px_fstat(fd, &st) == 0 &&
			    st.type == PX_S_DIR) {
				close(fd);
				fd = -1;
				err = EISDIR;
			}
			if (fd < 0) {
				fprintf(stderr, "sh: %s: %s\n", rd->file, errstr(err));
				close_redirs(r, pl->ncmd);
				return -1;
			}
			if (r[i].fd[target] >= 0)
				close(r[i].fd[target]);
			r[i].fd[target] = fd;
		}
	}
	return 0;
}

/* Make fds 0, 1 and 2 copies of in, out and err.  None of them is 0, 1
 * or 2 (they are sh's own copies, pipe ends or redirections, opened
 * while 0, 1 and 2 were taken). */
static void set_stdio(int in, int out, int err)
{
	dup2(in, 0);
	dup2(out, 1);
	dup2(err, 2);
}

/* The process group and flags for stage i of a job whose group is pgid
 * (0 before the first stage has started). */
static int stage_group(int i, int pgid, bool background, unsigned *flags)
{
	*flags = PX_SPAWN_STDIO;
	if (!interactive && !background)
		return PX_PG_INHERIT; /* not the console's shell: the jobs stay in ours */
	if (i > 0)
		return pgid;
	if (!background)
		*flags |= PX_SPAWN_FG;
	return PX_PG_NEW;
}

/*
 * Start every stage of pl, each reading the previous one's output
 * through a pipe; the first reads sh's stdin, the last writes sh's
 * stdout, every one writes errors to sh's stderr, except where a
 * redirection says otherwise (it wins over the pipe, as in any shell).
 * pids[] gets their pids.  Returns how many started: all of them, or
 * fewer after an error (printed), when the ones that did start have been
 * killed.  A redirection that cannot be opened starts nothing.
 */
static int start_pipeline(const struct pipeline *pl, int *pids)
{
	static struct stage_fds redir[MAX_CMDS];
	int in = dup(0), out = dup(1), err = dup(2), prev = -1, pgid = 0, n = 0;

	if (in < 0 || out < 0 || err < 0) {
		fprintf(stderr, "sh: dup: %s\n", strerror(errno));
		close(in);
		close(out);
		close(err);
		return 0;
	}
	if (open_redirs(pl, redir) < 0) {
		close(in);
		close(out);
		close(err);
		return 0;
	}
	fflush(stdout); /* its buffer goes to our fd 1, not a stage's */
	for (; n < pl->ncmd; n++) {
		const struct command *c = &pl->cmd[n];
		const int *rd = redir[n].fd;
		int fds[2] = { -1, -1 };
		unsigned flags;
		char path[PX_FS_PATH_MAX];

		if (n + 1 < pl->ncmd && pipe(fds) < 0) {
			fprintf(stderr, "sh: pipe: %s\n", strerror(errno));
			break;
		}
		set_stdio(rd[0] >= 0 ? rd[0] : prev >= 0 ? prev : in,
			  rd[1] >= 0 ? rd[1] : n + 1 < pl->ncmd ? fds[1] : out,
			  rd[2] >= 0 ? rd[2] : err);
		int group = stage_group(n, pgid, pl->background, &flags);
		/* PX_SPAWN_FG needs fd 0 to be the console: with stdin from a
		 * file, the group becomes the foreground just after the spawn
		 * instead (sh's fd 0 is the console again by then). */
		bool fg_after = (flags & PX_SPAWN_FG) && rd[0] >= 0;
		if (fg_after)
			flags &= ~PX_SPAWN_FG;
		int pid = spawnpg(program_path(c->argv[0], path, sizeof(path)),
				  (const char *const *)c->argv, group, flags);
		int e = errno;
		set_stdio(in, out, err);
		if (pid >= 0 && fg_after)
			setfg(pid);
		close(prev);
		close(fds[1]);
		prev = fds[0];
		if (pid < 0) {
			if (e == ENOENT)
				fprintf(stderr, "sh: %s: not found\n", c->argv[0]);
			else
				fprintf(stderr, "sh: %s: %s\n", c->argv[0], errstr(e));
			break;
		}
		pids[n] = pid;
		if (n == 0)
			pgid = pid;
	}
	close_redirs(redir, pl->ncmd);
	close(prev);
	close(in);
	close(out);
	close(err);
	if (n < pl->ncmd)
		for (int i = 0; i < n; i++)
			kill(pids[i]);
	return n;
}

/* Wait until every one of pids[0..n) has ended, reporting background
 * jobs that end meanwhile.  The status of the last one. */
static int wait_all(const int *pids, int n)
{
	int left = n, last = 0;
	bool done[MAX_CMDS] = { false };

	while (left > 0) {
		int status, w = wait(-1, &status), i;

		if (w < 0) {
			fprintf(stderr, "sh: wait: %s\n", strerror(errno));
			break;
		}
		for (i = 0; i < n && (pids[i] != w || done[i]); i++)
			;
		if (i == n) {
			job_reaped(w, status);
			continue;
		}
		done[i] = true;
		left--;
		if (i == n - 1)
			last = status;
	}
	return last;
}

static void run_pipeline(const struct pipeline *pl)
{
	int pids[MAX_CMDS], n = start_pipeline(pl, pids);
	char buf[24];

	if (pl->background && n == pl->ncmd) {
		job_add(pl, pids);
		printf("[%d]\n", pids[0]);
		return;
	}
	if (n == 0)
		return;
	int status = wait_all(pids, n);
	if (interactive)
		setfg(0); /* the console is ours again: Ctrl-C ends a line */
	/* Ctrl-C: the console has echoed ^C, nothing more to say. */
	const char *h = how(status, buf, sizeof(buf));
	if (n == pl->ncmd && h && status != (PX_KILLED | PX_KILL_INTR))
		printf("%s: %s\n", pl->cmd[pl->ncmd - 1].argv[0], h);
}

static void help(void)
{
	printf("Pollux sh.  A line is a list of pipelines:\n"
	       "  NAME [ARG...]       run program /bin/NAME (`ls /bin` lists them)\n"
	       "  a | b | c           a pipeline: each one's output is the next one's input\n"
	       "  a ; b               a, then b\n"
	       "  a &                 a in the background: sh prints [job] and goes on\n"
	       "  'a b'  \"a b\"  a\\ b  quoting: spaces and | ; & < > ' \" \\ lose their meaning\n"
	       "  < f  > f  >> f  2> f  2>> f   read stdin from f; write stdout to f\n"
	       "                      (>> appends); write stderr to f (2>> appends)\n"
	       "  Ctrl-C stops the foreground pipeline; Ctrl-T lists the kernel's tasks\n"
	       "Builtins:\n"
	       "  exit [N]            leave the shell with status N (default 0)\n"
	       "  help                this text\n"
	       "  jobs                the background jobs still running\n"
	       "  cd [DIR]            change the working directory (default /)\n"
	       "  pwd                 print the working directory\n");
}

/* Run c if it is a builtin; false if it is not one. */
static bool builtin(const struct command *c)
{
	if (strcmp(c->argv[0], "exit") == 0) {
		char *end;
		long n = c->argc > 1 ? strtol(c->argv[1], &end, 10) : 0;
		if (c->argc > 1 && (*end || end == c->argv[1])) {
			fprintf(stderr, "sh: exit: %s: not a number\n", c->argv[1]);
			return true;
		}
		exit((int)(n & 0xff));
	}
	if (strcmp(c->argv[0], "help") == 0) {
		help();
		return true;
	}
	if (strcmp(c->argv[0], "jobs") == 0) {
		jobs_list();
		return true;
	}
	if (strcmp(c->argv[0], "cd") == 0) {
		const char *dir = c->argc > 1 ? c->argv[1] : "/";
		if (c->argc > 2)
			fprintf(stderr, "sh: cd: one directory at most\n");
		else if (chdir(dir) < 0)
			fprintf(stderr, "sh: cd: %s: %s\n", dir, errstr(errno));
		return true;
	}
	if (strcmp(c->argv[0], "pwd") == 0) {
		static char cwd[PX_FS_PATH_MAX];
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			fprintf(stderr, "sh: pwd: %s\n", errstr(errno));
		else
			printf("%s\n", cwd);
		return true;
	}
	return false;
}

static bool is_builtin(const char *name)
{
	static const char *const names[] = { "exit", "help", "jobs", "cd", "pwd" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcmp(name, names[i]) == 0)
			return true;
	return false;
}

/* Run every pipeline of l in order. */
static void execute(const struct list *l)
{
	for (int i = 0; i < l->npipes; i++) {
		const struct pipeline *pl = &l->pipes[i];
		if (pl->ncmd == 1 && !pl->background && pl->cmd[0].nredir == 0 &&
		    builtin(&pl->cmd[0]))
			continue;
		bool refused = false;
		for (int k = 0; k < pl->ncmd && !refused; k++) {
			if (is_builtin(pl->cmd[k].argv[0])) {
				fprintf(stderr, "sh: %s: a builtin runs alone, not in a pipeline, "
					"the background or with redirection\n", pl->cmd[k].argv[0]);
				refused = true;
			}
		}
		if (!refused)
			run_pipeline(pl);
	}
}

/* ---- the loop -----------------------------------------------------------------------*/

/* Read one line into buf (NUL-terminated, without the newline).  Returns
 * its length; -1 at end of input with nothing read; -2 if it was longer
 * than the buffer (the rest of the line is discarded). */
static int read_line(char *buf, size_t n)
{
	size_t len;
	int c;

	if (fgets(buf, (int)n, stdin) == NULL)
		return -1;
	len = strlen(buf);
	if (len > 0 && buf[len - 1] == '\n') {
		buf[--len] = '\0';
		return (int)len;
	}
	if (len + 1 < n)
		return (int)len; /* the last line, without a newline */
	while ((c = getchar()) != EOF && c != '\n')
		;
	return -2;
}

int main(void)
{
	static char line[LINE_LEN], words[2 * LINE_LEN];
	static struct token toks[MAX_TOKENS];
	static struct list list;

	/* Only a shell reading the console may set its foreground group;
	 * only one reading the console prompts. */
	interactive = setfg(0) >= 0;
	struct px_statfs fs;
	have_fs = px_statfs(&fs) == 0;
	for (;;) {
		if (interactive) {
			fputs("$ ", stdout);
			fflush(stdout);
		}
		int len = read_line(line, sizeof(line));
		if (len == -1) {
			if (interactive)
				putchar('\n');
			return 0;
		}
		if (len == -2) {
			fprintf(stderr, "sh: line too long (max %d bytes)\n", LINE_LEN - 1);
			continue;
		}
		if (tokenize(line, toks, words) < 0 || parse(toks, &list) < 0)
			continue;
		execute(&list);
	}
}
