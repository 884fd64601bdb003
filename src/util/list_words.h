/*
 * list_words.h — the separators of a list written in words ("8, 16 and
 * 32"), for the sentences the terminal, report.md and recommendation.json
 * share (the tied batch sizes, the rounds left out).
 */
#ifndef BB_LIST_WORDS_H
#define BB_LIST_WORDS_H

/* What goes before item k (0-based) of a list of total: "", ", " or " and ". */
static inline const char *bb_list_sep(int k, int total)
{
    return k == 0 ? "" : k + 1 == total ? " and " : ", ";
}

#endif
