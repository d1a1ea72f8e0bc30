/*
 * dataset.h -- the data-set API is in include/pixelcnn.h (section "data
 * sets"); this header only forwards to it for the files of src/data/.
 */
#ifndef PCNN_DATA_DATASET_FWD_H
#define PCNN_DATA_DATASET_FWD_H

#include "pixelcnn.h"

#endif
