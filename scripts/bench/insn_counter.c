// A QEMU user-mode plugin (TCG plugin API version 1, QEMU 7.2) that counts the guest instructions executed per
// translated block. It stands in for callgrind, which crashes on Swift's lib_FoundationICU.so on these machines.
//
//   qemu-x86_64 -plugin ./insn_counter.so,control=CONTROL_FIFO,output=OUTPUT_PREFIX program …
//
// Each line written to CONTROL_FIFO takes a snapshot: OUTPUT_PREFIX.N.blocks gets one line per block address,
// "address instructions" (cumulative since start), and OUTPUT_PREFIX.N.maps a copy of the process's memory map; then
// OUTPUT_PREFIX.N.done appears. The difference of two snapshots is what ran between them.
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// The declarations this plugin needs from QEMU's plugin API (qemu-plugin.h, API version 1).
typedef uint64_t qemu_plugin_id_t;
typedef struct {
    const char *target_name;
    struct { int min; int cur; } version;
    bool system_emulation;
    union { struct { int smp_vcpus; int max_vcpus; } system; };
} qemu_info_t;
struct qemu_plugin_tb;
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };
typedef void (*tb_trans_cb)(qemu_plugin_id_t, struct qemu_plugin_tb *);
typedef void (*vcpu_udata_cb)(unsigned int, void *);
void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t, tb_trans_cb);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *, vcpu_udata_cb, enum qemu_plugin_cb_flags, void *);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

/// One translation of a block: a block translated again (after a flush) gets a record of its own.
typedef struct {
    uint64_t address;
    uint64_t instructions;
    uint64_t executions;
} Block;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static Block **blocks;
static size_t blockCount, blockCapacity;
static const char *controlPath, *outputPrefix;

static void executed(unsigned int vcpu, void *userdata) {
    (void)vcpu;
    __atomic_fetch_add(&((Block *)userdata)->executions, 1, __ATOMIC_RELAXED);
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
    (void)id;
    Block *block = calloc(1, sizeof *block);
    if (!block) abort();
    block->address = qemu_plugin_tb_vaddr(tb);
    block->instructions = qemu_plugin_tb_n_insns(tb);
    pthread_mutex_lock(&lock);
    if (blockCount == blockCapacity) {
        blockCapacity = blockCapacity ? blockCapacity * 2 : 65536;
        blocks = realloc(blocks, blockCapacity * sizeof *blocks);
        if (!blocks) abort();
    }
    blocks[blockCount++] = block;
    pthread_mutex_unlock(&lock);
    qemu_plugin_register_vcpu_tb_exec_cb(tb, executed, QEMU_PLUGIN_CB_NO_REGS, block);
}

static void copyFile(const char *from, const char *to) {
    FILE *in = fopen(from, "r"), *out = fopen(to, "w");
    char buffer[65536];
    size_t n;
    while (in && out && (n = fread(buffer, 1, sizeof buffer, in)) > 0) fwrite(buffer, 1, n, out);
    if (in) fclose(in);
    if (out) fclose(out);
}

static void snapshot(int number) {
    char path[4096];
    snprintf(path, sizeof path, "%s.%d.blocks", outputPrefix, number);
    FILE *out = fopen(path, "w");
    if (!out) {
        fprintf(stderr, "insn_counter: cannot write %s\n", path);
        exit(1);
    }
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < blockCount; i++) {
        uint64_t executions = __atomic_load_n(&blocks[i]->executions, __ATOMIC_RELAXED);
        if (executions) fprintf(out, "%" PRIx64 " %" PRIu64 "\n", blocks[i]->address, executions * blocks[i]->instructions);
    }
    pthread_mutex_unlock(&lock);
    fclose(out);
    snprintf(path, sizeof path, "%s.%d.maps", outputPrefix, number);
    copyFile("/proc/self/maps", path);
    snprintf(path, sizeof path, "%s.%d.done", outputPrefix, number);
    FILE *done = fopen(path, "w");
    if (done) fclose(done);
}

/// Waits for lines on the control FIFO, one snapshot each (reopened when the writer closes it).
static void *control(void *unused) {
    (void)unused;
    int number = 0;
    for (;;) {
        FILE *fifo = fopen(controlPath, "r");
        if (!fifo) return NULL;
        char line[256];
        while (fgets(line, sizeof line, fifo)) snapshot(number++);
        fclose(fifo);
    }
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info, int argc,
                                                               char **argv) {
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "control=", 8) == 0) controlPath = argv[i] + 8;
        if (strncmp(argv[i], "output=", 7) == 0) outputPrefix = argv[i] + 7;
    }
    if (!controlPath || !outputPrefix) {
        fprintf(stderr, "insn_counter: needs control=CONTROL_FIFO,output=OUTPUT_PREFIX\n");
        return 1;
    }
    // The control thread takes no signal: QEMU's handler expects a thread that runs guest code.
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &previous);
    pthread_t thread;
    int failed = pthread_create(&thread, NULL, control, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (failed) return 1;
    pthread_detach(thread);
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    return 0;
}
