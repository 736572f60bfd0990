/* rf_version: the one version string shared by every binary. */
#ifndef RF_VERSION_H
#define RF_VERSION_H
#define RF_VERSION "0.1.0"
#endif
