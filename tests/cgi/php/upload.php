<?php
// A multipart upload: what arrived, and the uploaded file's size and MD5.
header('Content-Type: application/json');
$f = $_FILES['file'] ?? null;
echo json_encode([
    'name' => $f['name'] ?? null,
    'error' => $f['error'] ?? null,
    'size' => $f['size'] ?? null,
    'md5' => $f ? md5_file($f['tmp_name']) : null,
    'note' => $_POST['note'] ?? null,
]);
