<?php
// A multipart upload: the file's name, size and SHA-256 as PHP stored it,
// and the form field beside it.
header('Content-Type: application/json');
$f = $_FILES['file'] ?? null;
echo json_encode([
    'name' => $f['name'] ?? null,
    'error' => $f['error'] ?? null,
    'size' => $f['size'] ?? null,
    'sha256' => $f && $f['error'] === 0 ? hash_file('sha256', $f['tmp_name']) : null,
    'note' => $_POST['note'] ?? null,
]);
