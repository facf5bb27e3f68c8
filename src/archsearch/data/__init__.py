"""Datasets: embedded (digits, mnist5k, mnist1d) and from files (CIFAR-10, image folders, .npz), with
fixed stratified splits (``datasets``), and device-resident batches for training (``loader``)."""
